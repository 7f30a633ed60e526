"""Reads and writes of webhook deliveries. Keyword-only, session passed in. The delivery columns'
own reads and writes are shared (shared/delivery/store.py); what is the agency's is here: a
delivery belongs to an agency and, through its referral, to a province."""

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from agency_adapters.models import AgencyReferral
from agency_adapters.webhooks.models import CallbackNonce, WebhookDelivery
from shared.db import insert_for, stage
from shared.delivery import store as deliveries
from shared.delivery.store import Narrow, Query


def add_pending(session: AsyncSession, *, referral_id: str, agency: str, at: datetime) -> None:
    stage(session, WebhookDelivery, {"referral_id": referral_id, "agency": agency, **deliveries.pending_values(at=at)})


async def claim_due(
    session: AsyncSession, *, agency: str, now: datetime, limit: int, lease: timedelta
) -> list[tuple[WebhookDelivery, AgencyReferral]]:
    """Due deliveries of one agency with their referrals, each claimed until `now + lease` so that
    two adapter processes serving the same agency never send the same delivery at once."""
    query = (select(WebhookDelivery, AgencyReferral)
             .join(AgencyReferral, col(AgencyReferral.referral_id) == col(WebhookDelivery.referral_id))
             .where(WebhookDelivery.agency == agency))
    candidates = (await session.exec(deliveries.due(query, table=WebhookDelivery, now=now, limit=limit))).all()
    claimed = await deliveries.claim(session, table=WebhookDelivery, deliveries=[d for d, _ in candidates],
                                     now=now, lease=lease)
    return [(delivery, referral) for delivery, referral in candidates if delivery.referral_id in claimed]


def _in_provinces(query: Query, provinces: frozenset[str] | None) -> Query:
    """Deliveries of referrals in these provinces; None: every province."""
    if provinces is None:
        return query
    return query.join(AgencyReferral, col(AgencyReferral.referral_id) == col(WebhookDelivery.referral_id)).where(
        col(AgencyReferral.province_code).in_(sorted(provinces))
    )


def of_agency(*, agency: str, provinces: frozenset[str] | None = None) -> Narrow:
    """An agency's deliveries, of referrals in these provinces (None: every province)."""
    return lambda query: _in_provinces(query.where(WebhookDelivery.agency == agency), provinces)


async def counts_by_state(
    session: AsyncSession, *, agency: str, provinces: frozenset[str] | None = None
) -> dict[str, int]:
    return await deliveries.counts_by_state(session, table=WebhookDelivery,
                                            narrow=of_agency(agency=agency, provinces=provinces))


async def list_deliveries(
    session: AsyncSession, *, agency: str, provinces: frozenset[str] | None, state: str | None, limit: int, offset: int
) -> list[WebhookDelivery]:
    query = of_agency(agency=agency, provinces=provinces)(select(WebhookDelivery))
    if state:
        query = query.where(WebhookDelivery.state == state)
    query = query.order_by(col(WebhookDelivery.created_at), col(WebhookDelivery.referral_id))
    return list((await session.exec(query.offset(offset).limit(limit))).all())


async def get_delivery(session: AsyncSession, *, referral_id: str) -> WebhookDelivery | None:
    return await session.get(WebhookDelivery, referral_id)


async def redrive_parked(
    session: AsyncSession, *, agency: str, provinces: frozenset[str] | None, referral_ids: list[str] | None,
    actor: str, reason: str, at: datetime,
) -> list[str]:
    """Parked deliveries back to pending with fresh attempts; returns the ids re-driven. Only the
    provinces given (None: all), so a head re-drives only what they could see."""
    return await deliveries.redrive_parked(session, table=WebhookDelivery,
                                           narrow=of_agency(agency=agency, provinces=provinces),
                                           keys=referral_ids, actor=actor, reason=reason, at=at)


async def claim_nonce(session: AsyncSession, *, agency: str, nonce: str, expires_at: datetime, now: datetime) -> bool:
    """True the first time an agency's callback nonce is seen, False for a replay; commits.
    The primary key decides between two processes taking the same nonce at once. Nonces past
    their expiry are dropped first: their signatures are refused by the timestamp by then."""
    connection = await session.connection()
    await connection.execute(delete(CallbackNonce).where(col(CallbackNonce.expires_at) < now))
    insert = insert_for(connection)
    # RETURNING rather than rowcount, which asyncpg does not report for an INSERT.
    taken = (await connection.execute(
        insert(CallbackNonce).values(agency=agency, nonce=nonce, expires_at=expires_at)
        .on_conflict_do_nothing().returning(col(CallbackNonce.nonce))
    )).first()
    await session.commit()
    return taken is not None
