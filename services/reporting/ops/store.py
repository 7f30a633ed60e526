"""Database reads and writes of the operations view (keyword-only, one session each)."""

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, union
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.bulk import insert_for
from reporting.models import IntakeServiceFact, ReferralFact
from reporting.ops.models import DeadLetterRedrive, OverdueReferral
from shared.contracts import ReferralOverdueV1

# Mirrors the agency lifecycle's final statuses: a referral in one of them is no longer overdue.
FINAL_STATUSES = ("completed", "declined", "unreachable", "transferred", "cancelled")


async def add_overdue(session: AsyncSession, *, events: Sequence[ReferralOverdueV1]) -> None:
    """Record the notices not recorded yet, in one statement (a notice repeated, by a re-sent
    event or a second scan, is the same notice: the first one stays)."""
    rows = {(e.referral_id, e.stage, e.escalation_level): {
        "referral_id": e.referral_id, "stage": e.stage, "level": e.escalation_level, "agency": e.agency,
        "announced_at": e.occurred_at} for e in reversed(events)}
    if not rows:
        return
    connection = await session.connection()
    insert = insert_for(connection)
    # Sorted: PostgreSQL inserts in this order, so two batches of the same keys cannot deadlock.
    await connection.execute(insert(OverdueReferral).on_conflict_do_nothing(index_elements=["referral_id", "stage", "level"]),
                             [rows[key] for key in sorted(rows)])


async def overdue_by_agency(session: AsyncSession) -> dict[str, int]:
    """Distinct referrals with a notice whose fact is not final (a referral reporting has not
    seen move yet counts as open: the notice itself says it is late)."""
    rows = await session.exec(
        select(OverdueReferral.agency, func.count(func.distinct(OverdueReferral.referral_id)))
        .join(ReferralFact, col(ReferralFact.referral_id) == col(OverdueReferral.referral_id), isouter=True)
        .where(or_(col(ReferralFact.status).is_(None), col(ReferralFact.status).not_in(FINAL_STATUSES)))
        .group_by(OverdueReferral.agency)
    )
    return {agency: count for agency, count in rows.all()}


async def redriven_by_topic(session: AsyncSession) -> dict[str, int]:
    rows = await session.exec(select(DeadLetterRedrive.dlq_topic, func.count()).group_by(DeadLetterRedrive.dlq_topic))
    return {topic: count for topic, count in rows.all()}


async def redrives_at(
    session: AsyncSession, *, positions: Iterable[tuple[str, int, int]]
) -> dict[tuple[str, int, int], DeadLetterRedrive]:
    found = {}
    for position in set(positions):
        if (row := await session.get(DeadLetterRedrive, position)) is not None:
            found[position] = row
    return found


def record_redrive(
    session: AsyncSession, *, position: tuple[str, int, int], target_topic: str, actor: str, reason: str
) -> None:
    topic, partition, offset = position
    session.add(DeadLetterRedrive(dlq_topic=topic, dlq_partition=partition, dlq_offset=offset,
                                  target_topic=target_topic, actor=actor, reason=reason))


def day_bounds_utc(*, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A local day (Asia/Bangkok) as UTC bounds: a Thai day starts at 17:00 UTC the day before."""
    begin = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    return begin, begin + timedelta(days=1)


async def intakes_by_province(session: AsyncSession, *, day: date, zone: ZoneInfo) -> dict[str, int]:
    """Intakes received that local day, by province code: every intake, whether it produced
    referrals (ReferralFact), only services delivered at intake (IntakeServiceFact), or both.
    An intake has rows in both tables and one per need, so intake ids are counted once."""
    begin, end = day_bounds_utc(day=day, zone=zone)
    referred = select(col(ReferralFact.intake_id), col(ReferralFact.province_code)).where(
        col(ReferralFact.has_intake).is_(True),
        col(ReferralFact.intake_received_at) >= begin, col(ReferralFact.intake_received_at) < end)
    served = select(col(IntakeServiceFact.intake_id), col(IntakeServiceFact.province_code)).where(
        col(IntakeServiceFact.intake_received_at) >= begin, col(IntakeServiceFact.intake_received_at) < end)
    # UNION (not UNION ALL) leaves one row per (intake, province): an intake's province is one.
    received = union(referred, served).subquery()
    rows = await session.exec(
        select(received.c.province_code, func.count(func.distinct(received.c.intake_id)))
        .group_by(received.c.province_code)
    )
    return {province or "??": count for province, count in rows.all()}
