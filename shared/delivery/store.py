"""Reads and writes of the delivery columns (models.py), for any table that has them and a
one-column primary key. Keyword-only, session passed in. Which rows are a channel's, a receiver's
or within a caller's scope is the channel's to say: it passes `narrow`, a function that adds its
joins and filters to a query of the table."""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, ColumnElement, func, inspect, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select, SelectOfScalar

from shared.delivery.models import DELIVERY_STATES, DeliveryColumns, DeliveryState

Query = Select | SelectOfScalar
Narrow = Callable[[Any], Any]  # Query -> the same query, narrowed
Table = type[DeliveryColumns]


def key_column(table: Table) -> Column:
    (key,) = inspect(table).primary_key
    return key


def _key_of(table: Table, delivery: DeliveryColumns) -> str:
    return getattr(delivery, key_column(table).key)


def pending_values(*, at: datetime) -> dict[str, Any]:
    """A new delivery's columns, due at once; the channel adds its key and its own columns."""
    return {"state": "pending", "next_attempt_at": at, "created_at": at}


def _lease_free(table: Table, *, now: datetime) -> ColumnElement[bool]:
    return or_(col(table.lease_until).is_(None), col(table.lease_until) < now)


def due(query: Query, *, table: Table, now: datetime, limit: int) -> Query:
    """`query` (rows of `table`, narrowed and joined as the channel needs) limited to the pending
    deliveries due by `now` that no sender holds, the longest due first."""
    return (
        query.where(col(table.state) == "pending", col(table.next_attempt_at) <= now, _lease_free(table, now=now))
        .order_by(col(table.next_attempt_at), key_column(table))
        .limit(limit)
    )


async def claim(
    session: AsyncSession, *, table: Table, deliveries: Sequence[DeliveryColumns], now: datetime, lease: timedelta,
) -> set[str]:
    """The keys of the `deliveries` (read by `due`) this sender now holds until `now + lease`; commits.
    Each is claimed by a compare-and-set on its lease and attempts, so that two processes serving
    the same channel never send the same delivery at once."""
    key, claimed = key_column(table), set()
    connection = await session.connection()
    for delivery in deliveries:
        result = await connection.execute(
            update(table)
            .where(
                key == _key_of(table, delivery),
                col(table.state) == "pending",
                col(table.attempts) == delivery.attempts,
                _lease_free(table, now=now),
            )
            .values(lease_until=now + lease)
        )
        if result.rowcount == 1:
            claimed.add(_key_of(table, delivery))
    await session.commit()
    return claimed


async def postpone(session: AsyncSession, *, table: Table, keys: Sequence[str], until: datetime) -> None:
    """Give claimed deliveries back, untried, to be claimed again from `until`: no attempt counted."""
    if not keys:
        return
    await (await session.connection()).execute(
        update(table).where(key_column(table).in_(keys)).values(lease_until=None, next_attempt_at=until)
    )
    await session.commit()


async def record_attempt(
    session: AsyncSession,
    *,
    table: Table,
    key: str,
    attempts: int,
    state: DeliveryState,
    at: datetime,
    next_attempt_at: datetime | None = None,
    status_code: int | None = None,
    error: str | None = None,
    only_from: Sequence[str] | None = None,
) -> None:
    """What an attempt came to; frees the lease; commits. With `only_from`, a row that left those
    states while the attempt was under way (a channel's own closing states) is left as it is."""
    values: dict[str, Any] = {"attempts": attempts, "state": state, "lease_until": None,
                              "last_status_code": status_code, "last_error": error[:300] if error else None}
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if state == "delivered":
        values["delivered_at"] = at
    if state == "parked":
        values["parked_at"] = at
    statement = update(table).where(key_column(table) == key)
    if only_from is not None:
        statement = statement.where(col(table.state).in_(only_from))
    await (await session.connection()).execute(statement.values(**values))
    await session.commit()


async def counts_by_state(session: AsyncSession, *, table: Table, narrow: Narrow) -> dict[str, int]:
    """How many deliveries are in each state (all three named, zero included)."""
    rows = await session.exec(narrow(select(col(table.state), func.count())).group_by(col(table.state)))
    found = {state: count for state, count in rows.all()}
    return {state: found.get(state, 0) for state in DELIVERY_STATES}


async def redrive_parked(
    session: AsyncSession, *, table: Table, narrow: Narrow, keys: Sequence[str] | None, actor: str, reason: str,
    at: datetime,
) -> list[str]:
    """Parked deliveries (those named; None: all that `narrow` lets through) back to pending with
    fresh attempts, recording who re-drove them and why; returns the keys re-driven; commits.
    Only a parked row moves, so a re-drive can never send a delivered record a second time."""
    key = key_column(table)
    query = narrow(select(key).where(col(table.state) == "parked"))
    if keys is not None:
        query = query.where(key.in_(keys))
    chosen = list((await session.exec(query)).all())
    if chosen:
        await (await session.connection()).execute(
            update(table)
            .where(key.in_(chosen), col(table.state) == "parked")
            .values(state="pending", attempts=0, next_attempt_at=at, lease_until=None, parked_at=None,
                    redrive_count=col(table.redrive_count) + 1, last_redrive_by=actor, last_redrive_reason=reason)
        )
    await session.commit()
    return chosen
