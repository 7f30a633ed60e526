"""Reads and writes of webhook deliveries. Keyword-only, session passed in."""

from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import delete, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select, SelectOfScalar

from agency_adapters.models import AgencyReferral
from agency_adapters.webhooks.models import CallbackNonce, WebhookDelivery
from shared.db import insert_for, stage


def add_pending(session: AsyncSession, *, referral_id: str, agency: str, at: datetime) -> None:
    stage(session, WebhookDelivery, {"referral_id": referral_id, "agency": agency, "state": "pending",
                                     "next_attempt_at": at, "created_at": at})


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


async def postpone(session: AsyncSession, *, referral_ids: list[str], until: datetime) -> None:
    """Give claimed deliveries back, untried, to be claimed again from `until`: no attempt counted."""
    if not referral_ids:
        return
    await (await session.connection()).execute(
        update(WebhookDelivery).where(col(WebhookDelivery.referral_id).in_(referral_ids))
        .values(lease_until=None, next_attempt_at=until)
    )
    await session.commit()


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


Query = TypeVar("Query", Select, SelectOfScalar)


def _in_provinces(query: Query, provinces: frozenset[str] | None) -> Query:
    """Deliveries of referrals in these provinces; None: every province."""
    if provinces is None:
        return query
    return query.join(AgencyReferral, col(AgencyReferral.referral_id) == col(WebhookDelivery.referral_id)).where(
        col(AgencyReferral.province_code).in_(sorted(provinces))
    )


async def counts_by_state(session: AsyncSession, *, agency: str, provinces: frozenset[str] | None = None) -> dict[str, int]:
    query = select(WebhookDelivery.state, func.count()).where(WebhookDelivery.agency == agency)
    rows = await session.exec(_in_provinces(query, provinces).group_by(WebhookDelivery.state))
    found = {state: count for state, count in rows.all()}
    return {state: found.get(state, 0) for state in ("pending", "delivered", "parked")}


async def list_deliveries(
    session: AsyncSession, *, agency: str, provinces: frozenset[str] | None, state: str | None, limit: int, offset: int
) -> list[WebhookDelivery]:
    query = _in_provinces(select(WebhookDelivery).where(WebhookDelivery.agency == agency), provinces)
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
    """Parked deliveries back to pending with fresh attempts; returns the ids re-driven. Only a
    parked row moves, so a re-drive can never send a delivered referral a second time; only the
    provinces given (None: all), so a head re-drives only what they could see."""
    query = _in_provinces(
        select(WebhookDelivery.referral_id).where(WebhookDelivery.agency == agency, WebhookDelivery.state == "parked"),
        provinces,
    )
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
