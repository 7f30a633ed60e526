"""The intake's view of its referrals' statuses, moved forward by a batch of status events in
one go: the batch's rows are read and locked with one statement, each change is applied in
memory in the batch's order, and the changed rows are written back with one executemany UPDATE
(plain rows, not ORM objects: their instrumentation and flush were most of this consumer's cost)."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from intake.models import ReferralStatusRecord

_STATUS = ReferralStatusRecord.__table__
_WRITE = update(_STATUS).where(_STATUS.c.referral_id == bindparam("row_key"))


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChange:
    referral_id: str
    status: str
    version: int
    agency: str | None = None


@dataclass(slots=True, kw_only=True)
class StatusRow:
    """What a change reads and moves of a referral's status row."""

    referral_id: str
    agency: str | None
    status: str
    status_version: int
    updated_at: datetime | None = None


def apply_change(row: StatusRow, *, change: StatusChange, at: datetime) -> None:
    """Move the referral's status forward; events arrive out of order across topics, so an older
    fact (lower version) never overwrites a newer one."""
    if change.agency is not None:
        row.agency = change.agency
    # Triage routes an unroutable need by hand: its assignment supersedes "unroutable".
    if change.version > row.status_version or (row.status == "unroutable" and change.status == "assigned"):
        row.status = change.status
        row.status_version = change.version
    row.updated_at = at


async def record_statuses(session: AsyncSession, *, changes: list[StatusChange]) -> int:
    """Apply `changes` in order; returns how many found their referral. A referral this service
    never accepted (another intake instance's database) has no row and is passed over."""
    ids = sorted({change.referral_id for change in changes})
    if not ids:
        return 0
    # Rows this transaction added as objects (a transfer's continuation) are written first, so
    # that the statement below finds them: it does not flush the session by itself.
    await session.flush()
    connection = await session.connection()
    # Locked in key order, so two consumers writing overlapping rows wait, never deadlock.
    query = (
        select(_STATUS.c.referral_id, _STATUS.c.agency, _STATUS.c.status, _STATUS.c.status_version)
        .where(_STATUS.c.referral_id.in_(ids)).order_by(_STATUS.c.referral_id).with_for_update()
    )
    rows = {key: StatusRow(referral_id=key, agency=agency, status=status, status_version=version)
            for key, agency, status, version in await connection.execute(query)}
    now, found = datetime.now(UTC), 0
    for change in changes:
        if (row := rows.get(change.referral_id)) is not None:
            apply_change(row, change=change, at=now)
            found += 1
    if rows:
        await connection.execute(_WRITE, [
            {"row_key": row.referral_id, "agency": row.agency, "status": row.status,
             "status_version": row.status_version, "updated_at": row.updated_at}
            for _, row in sorted(rows.items())
        ])
    return found
