"""Reads and writes of webhook deliveries. Keyword-only, session passed in."""

from datetime import datetime, timedelta

from sqlalchemy import func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from agency_adapters.models import AgencyReferral
from agency_adapters.webhooks.models import WebhookDelivery


def add_pending(session: AsyncSession, *, referral_id: str, agency: str, at: datetime) -> None:
    session.add(WebhookDelivery(referral_id=referral_id, agency=agency, state="pending", next_attempt_at=at, created_at=at))


async def claim_due(
    session: AsyncSession, *, agency: str, now: datetime, limit: int, lease: timedelta
) -> list[tuple[WebhookDelivery, AgencyReferral]]:
    """Due deliveries of one agency, each claimed by a compare-and-set on its lease so that two
    adapter processes serving the same agency never send the same delivery at once."""
    candidates = (
        await session.exec(
            select(WebhookDelivery, AgencyReferral)
            .join(AgencyReferral, col(AgencyReferral.referral_id) == col(WebhookDelivery.referral_id))
            .where(
                WebhookDelivery.agency == agency,
                WebhookDelivery.state == "pending",
                col(WebhookDelivery.next_attempt_at) <= now,
                or_(col(WebhookDelivery.lease_until).is_(None), col(WebhookDelivery.lease_until) < now),
            )
            .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.referral_id))
            .limit(limit)
        )
    ).all()
    claimed = []
    connection = await session.connection()
    for delivery, referral in candidates:
        result = await connection.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.referral_id) == delivery.referral_id,
                col(WebhookDelivery.state) == "pending",
                col(WebhookDelivery.attempts) == delivery.attempts,
                or_(col(WebhookDelivery.lease_until).is_(None), col(WebhookDelivery.lease_until) < now),
            )
            .values(lease_until=now + lease)
        )
        if result.rowcount == 1:
            claimed.append((delivery, referral))
    await session.commit()
    return claimed


async def record_attempt(
    session: AsyncSession,
    *,
    referral_id: str,
    attempts: int,
    state: str,
    at: datetime,
    next_attempt_at: datetime | None = None,
    status_code: int | None = None,
    error: str | None = None,
) -> None:
    values: dict = {"attempts": attempts, "state": state, "lease_until": None, "last_status_code": status_code,
                    "last_error": error[:300] if error else None}
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if state == "delivered":
        values["delivered_at"] = at
    if state == "parked":
        values["parked_at"] = at
    await (await session.connection()).execute(
        update(WebhookDelivery).where(col(WebhookDelivery.referral_id) == referral_id).values(**values)
    )
    await session.commit()


async def counts_by_state(session: AsyncSession, *, agency: str) -> dict[str, int]:
    rows = await session.exec(
        select(WebhookDelivery.state, func.count()).where(WebhookDelivery.agency == agency).group_by(WebhookDelivery.state)
    )
    found = {state: count for state, count in rows.all()}
    return {state: found.get(state, 0) for state in ("pending", "delivered", "parked")}


async def list_deliveries(
    session: AsyncSession, *, agency: str, state: str | None, limit: int, offset: int
) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.agency == agency)
    if state:
        query = query.where(WebhookDelivery.state == state)
    query = query.order_by(col(WebhookDelivery.created_at), col(WebhookDelivery.referral_id))
    return list((await session.exec(query.offset(offset).limit(limit))).all())


async def get_delivery(session: AsyncSession, *, referral_id: str) -> WebhookDelivery | None:
    return await session.get(WebhookDelivery, referral_id)


async def redrive_parked(
    session: AsyncSession, *, agency: str, referral_ids: list[str] | None, actor: str, reason: str, at: datetime
) -> list[str]:
    """Parked deliveries back to pending with fresh attempts; returns the ids re-driven. Only a
    parked row moves, so a re-drive can never send a delivered referral a second time."""
    query = select(WebhookDelivery.referral_id).where(WebhookDelivery.agency == agency, WebhookDelivery.state == "parked")
    if referral_ids is not None:
        query = query.where(col(WebhookDelivery.referral_id).in_(referral_ids))
    chosen = list((await session.exec(query)).all())
    if chosen:
        await (await session.connection()).execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.referral_id).in_(chosen), col(WebhookDelivery.state) == "parked")
            .values(state="pending", attempts=0, next_attempt_at=at, lease_until=None, parked_at=None,
                    redrive_count=WebhookDelivery.redrive_count + 1, last_redrive_by=actor, last_redrive_reason=reason)
        )
    await session.commit()
    return chosen
