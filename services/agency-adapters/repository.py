"""Reads and writes of the agency referrals. Keyword-only, session passed in."""

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from agency_adapters.models import AgencyReferral
from shared.contracts import ReferralAssignedV1

RECEIVED_VERSION = 2  # assignment is version 1; the agency's receipt is its first move


def add_received(session: AsyncSession, *, event: ReferralAssignedV1, received_at: datetime) -> AgencyReferral:
    referral = AgencyReferral(
        referral_id=event.referral_id,
        agency=event.agency,
        intake_id=event.intake_id,
        need_code=event.need_code,
        need_note=event.need_note,
        category=event.category,
        person_ref=event.person_ref,
        person_json=event.person.model_dump_json(),
        status="received",
        version=RECEIVED_VERSION,
        assigned_at=event.occurred_at,
        updated_at=received_at,
    )
    session.add(referral)
    return referral


async def get_referral(session: AsyncSession, *, referral_id: str) -> AgencyReferral | None:
    return await session.get(AgencyReferral, referral_id)


async def list_referrals(
    session: AsyncSession, *, agency: str, status: str | None, limit: int, offset: int
) -> list[AgencyReferral]:
    query = select(AgencyReferral).where(AgencyReferral.agency == agency)
    if status:
        query = query.where(AgencyReferral.status == status)
    query = query.order_by(col(AgencyReferral.assigned_at), col(AgencyReferral.referral_id))
    return list((await session.exec(query.offset(offset).limit(limit))).all())


async def apply_move(
    session: AsyncSession,
    *,
    referral: AgencyReferral,
    status: str,
    outcome_code: str | None,
    note: str | None,
    moved_at: datetime,
) -> bool:
    """Compare-and-set on the version: False when someone else moved the referral first."""
    connection = await session.connection()  # a Core UPDATE: its rowcount is the compare-and-set
    result = await connection.execute(
        update(AgencyReferral)
        .where(
            col(AgencyReferral.referral_id) == referral.referral_id,
            col(AgencyReferral.version) == referral.version,
        )
        .values(
            status=status,
            version=referral.version + 1,
            outcome_code=outcome_code,
            note=note,
            updated_at=moved_at,
        )
    )
    return result.rowcount == 1
