"""The intake's view of its referrals' statuses, moved forward by a batch of status events in
one go: the batch's rows are read and locked with one statement, each change is applied in
memory in the batch's order, and the session writes them back together."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from intake.models import ReferralStatusRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChange:
    referral_id: str
    status: str
    version: int
    agency: str | None = None


def apply_change(row: ReferralStatusRecord, *, change: StatusChange, at: datetime) -> None:
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
    # Locked in key order, so two consumers writing overlapping rows wait, never deadlock.
    query = (
        select(ReferralStatusRecord)
        .where(col(ReferralStatusRecord.referral_id).in_(ids))
        .order_by(col(ReferralStatusRecord.referral_id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    rows = {row.referral_id: row for row in (await session.exec(query)).all()}
    now, found = datetime.now(UTC), 0
    for change in changes:
        if (row := rows.get(change.referral_id)) is not None:
            apply_change(row, change=change, at=now)
            found += 1
    session.add_all(rows.values())
    return found
