"""Which records go next: each person's records one at a time, in their order.

A record is due when it is pending, its time has come, nobody holds its lease, and no earlier
record of its person is still open (pending or parked): a parked record holds its person's later
ones back until it is re-driven, so the receiver never sees a gap. Withdrawn and erased records
never go and hold nothing back. Claiming, attempts and re-drives are the shared delivery
machinery's (shared/delivery/store.py); the order is the feed's."""

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.national_feed.models import OPEN_STATES, RECORD_STATES, FeedRecord
from shared.delivery import store as deliveries


def _earlier_open():  # noqa: ANN202 - a correlated EXISTS
    earlier = aliased(FeedRecord)
    return exists().where(and_(earlier.person_ref == FeedRecord.person_ref, earlier.position < FeedRecord.position,
                               earlier.state.in_(OPEN_STATES)))


async def claim_due(session: AsyncSession, *, now: datetime, limit: int, lease: timedelta) -> list[FeedRecord]:
    """Due records, each claimed by a compare-and-set on its lease (two reporting processes never
    send the same record at once), numbered for the receiver at their first send; commits."""
    candidates = (await session.exec(deliveries.due(select(FeedRecord).where(~_earlier_open()), table=FeedRecord,
                                                    now=now, limit=limit))).all()
    held = await deliveries.claim(session, table=FeedRecord, deliveries=candidates, now=now, lease=lease)
    claimed = [record for record in candidates if record.delivery_id in held]
    for record in claimed:
        if record.sequence is None:
            record.sequence = await _number(session, record=record)
    await session.commit()
    return claimed


async def _number(session: AsyncSession, *, record: FeedRecord) -> int:
    """One more than the last number given to the person: nothing else of theirs is in flight
    (claim_due), so two records never get the same one. Written with the claim's commit."""
    last = (await session.exec(select(func.max(FeedRecord.sequence)).where(
        FeedRecord.person_ref == record.person_ref))).one()
    return (last or 0) + 1


async def backlog(session: AsyncSession) -> dict:
    """What operations watch: records by state, those held behind a parked one, and when the
    oldest record not delivered yet was made."""
    by_state = dict((await session.exec(select(FeedRecord.state, func.count()).group_by(FeedRecord.state))).all())
    held_back = (await session.exec(select(func.count()).select_from(FeedRecord).where(
        FeedRecord.state == "pending", _earlier_open()))).one()
    oldest = (await session.exec(select(func.min(FeedRecord.created_at)).where(
        col(FeedRecord.state).in_(OPEN_STATES)))).one()
    return {"by_state": {state: by_state.get(state, 0) for state in RECORD_STATES}, "held_back": held_back,
            "oldest_unsent_at": oldest}
