"""Reads and writes of the intake service's tables. Keyword-only, session passed in."""

import json
from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from intake.domain import PlannedReferral
from intake.models import IdempotencyRecord, IntakeRecord, ReferralStatusRecord
from shared.contracts import IntakeSubmittedV1
from shared.db import get_for_update


# A need joins a referral in one of these states instead of opening a second one.
OPEN_STATUSES = ("submitted", "assigned", "received", "accepted", "in_progress")


def add_intake(
    session: AsyncSession,
    *,
    event: IntakeSubmittedV1,
    referrals: list[PlannedReferral],
    warnings: list[dict],
    submitted_by: str,
) -> None:
    session.add(
        IntakeRecord(
            intake_id=event.intake_id,
            received_at=event.received_at,
            person_ref=event.person_ref,
            program=event.source.program,
            org_unit=event.source.org_unit,
            province_code=event.person.address.province_code,
            submitted_by=submitted_by,
            event_json=event.model_dump_json(),
            warnings_json=json.dumps(warnings, ensure_ascii=False),
        )
    )
    for planned in referrals:
        session.add(
            ReferralStatusRecord(
                referral_id=planned.referral_id,
                intake_id=event.intake_id,
                need_code=planned.need_code,
                person_ref=event.person_ref,
            )
        )


async def get_intake(
    session: AsyncSession, *, intake_id: str
) -> tuple[IntakeRecord, list[ReferralStatusRecord]] | None:
    record = await session.get(IntakeRecord, intake_id)
    if record is None:
        return None
    statuses = await session.exec(
        select(ReferralStatusRecord)
        .where(ReferralStatusRecord.intake_id == intake_id)
        .order_by(col(ReferralStatusRecord.need_code))
    )
    return record, list(statuses.all())


async def record_status(
    session: AsyncSession,
    *,
    referral_id: str,
    status: str,
    version: int,
    agency: str | None = None,
) -> None:
    """Move the referral's status forward; events may arrive out of order across topics, so an
    older fact (lower version) never overwrites a newer one."""
    row = await get_for_update(session, ReferralStatusRecord, key={"referral_id": referral_id})
    if row is None:
        return  # an intake this service never accepted (e.g. another intake instance's DB)
    if agency is not None:
        row.agency = agency
    # Triage routes an unroutable need by hand: its assignment supersedes "unroutable".
    if version > row.status_version or (row.status == "unroutable" and status == "assigned"):
        row.status = status
        row.status_version = version
    row.updated_at = datetime.now(UTC)
    session.add(row)


async def add_continuation(session: AsyncSession, *, referral_id: str, transferred_from: str) -> None:
    """A referral another agency continues (a transfer) is shown with the intake and counts as
    open for dedupe, like the one it replaces."""
    origin = await session.get(ReferralStatusRecord, transferred_from)
    if origin is None:
        return
    blank = ReferralStatusRecord(
        referral_id=referral_id, intake_id=origin.intake_id, need_code=origin.need_code, person_ref=origin.person_ref
    ).model_dump(exclude={"referral_id"})
    await get_for_update(session, ReferralStatusRecord, key={"referral_id": referral_id}, create=blank)


async def open_referrals(session: AsyncSession, *, person_ref: str, need_codes: list[str]) -> dict[str, str]:
    """need code -> the person's open referral for it (the oldest, if there were ever two)."""
    rows = await session.exec(
        select(ReferralStatusRecord.need_code, ReferralStatusRecord.referral_id)
        .where(
            ReferralStatusRecord.person_ref == person_ref,
            col(ReferralStatusRecord.need_code).in_(need_codes),
            col(ReferralStatusRecord.status).in_(OPEN_STATUSES),
        )
        .order_by(col(ReferralStatusRecord.updated_at).desc())
    )
    return dict(rows.all())


async def get_idempotent(session: AsyncSession, *, key: str) -> IdempotencyRecord | None:
    return await session.get(IdempotencyRecord, key)


def add_idempotent(session: AsyncSession, *, key: str, request_hash: str, status_code: int, body: dict) -> None:
    session.add(
        IdempotencyRecord(
            key=key, request_hash=request_hash, status_code=status_code,
            response_json=json.dumps(body, ensure_ascii=False),
        )
    )
