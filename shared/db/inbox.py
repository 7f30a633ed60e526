"""The consumer inbox: delivery is at-least-once, so every consumer that writes records the
`event_id`s it applied, in the same transaction as the effect, and ignores them the second time.

Consumers apply a whole batch of events in one transaction (`apply_batch_once`): the batch's ids
are claimed with one statement, and only the events claimed now get their effect.
"""

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db.engine import bound_engine, insert_for, write_gate


class InboxEntry(SQLModel, table=True):
    __tablename__ = "inbox_processed_events"

    consumer: str = Field(primary_key=True, max_length=120)
    event_id: str = Field(primary_key=True, max_length=36)
    processed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class _Event(Protocol):
    @property
    def event_id(self) -> UUID: ...


Event = TypeVar("Event", bound=_Event)


async def claim_event(session: AsyncSession, *, consumer: str, event_id: UUID) -> bool:
    """Record that `consumer` applies `event_id`; False when it already did.

    Call inside the transaction that applies the effect: if that transaction rolls back, the
    claim goes with it. Two racing claims collide on the primary key and one transaction fails.
    """
    key = str(event_id)
    existing = await session.exec(
        select(InboxEntry.event_id).where(InboxEntry.consumer == consumer, InboxEntry.event_id == key)
    )
    if existing.first() is not None:
        return False
    session.add(InboxEntry(consumer=consumer, event_id=key))
    return True


async def claim_events(session: AsyncSession, *, consumer: str, event_ids: Sequence[UUID]) -> set[str]:
    """Record that `consumer` applies these events, in one statement; returns the ids claimed now
    (those it had not applied before). Inside the effect's transaction, as `claim_event`.

    A racing claim of the same id by another transaction waits for it (PostgreSQL) and then
    claims nothing, so exactly one of the two applies the event."""
    keys = list(dict.fromkeys(str(event_id) for event_id in event_ids))
    if not keys:
        return set()
    connection = await session.connection()
    insert = insert_for(connection)
    now = datetime.now(UTC)
    # Executemany, which SQLAlchemy sends as multi-row INSERTs ("insertmanyvalues"): one cached
    # statement whatever the batch's size (a VALUES list built here would be compiled and cached
    # once per size, and each cached 500-row statement holds thousands of bound parameters).
    statement = (
        insert(InboxEntry)
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(InboxEntry.__table__.c.event_id)
    )
    rows = [{"consumer": consumer, "event_id": key, "processed_at": now} for key in keys]
    return set((await connection.execute(statement, rows)).scalars())


async def apply_once(
    sessions: async_sessionmaker[AsyncSession],
    *,
    consumer: str,
    event_id: UUID,
    effect: Callable[[AsyncSession], Awaitable[None]],
) -> bool:
    """Run `effect` and record `event_id` in one transaction, unless `consumer` already applied
    it. Returns whether the effect ran. The commit is what makes the offset safe to commit."""
    async with sessions() as session:
        applied = await claim_event(session, consumer=consumer, event_id=event_id)
        if applied:
            await effect(session)
        await session.commit()
    return applied


async def apply_batch_once(
    sessions: async_sessionmaker[AsyncSession],
    *,
    consumer: str,
    events: Sequence[Event],
    effect: Callable[[AsyncSession, list[Event]], Awaitable[None]],
) -> list[Event]:
    """Claim the batch and run `effect` on the events `consumer` had not applied yet (each id
    once, first occurrence, in the given order), all in one transaction. Returns those events.

    The claim is the transaction's first statement: on SQLite it takes the write lock at once,
    so the effect's reads cannot go stale under another writer."""
    async with write_gate(bound_engine(sessions)), sessions() as session:
        claimed = await claim_events(session, consumer=consumer, event_ids=[event.event_id for event in events])
        fresh: list[Event] = []
        for event in events:
            key = str(event.event_id)
            if key in claimed:
                claimed.discard(key)
                fresh.append(event)
        if fresh:
            await effect(session, fresh)
        await session.commit()
    return fresh
