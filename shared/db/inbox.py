"""The consumer inbox: delivery is at-least-once, so every consumer that writes records the
`event_id`s it applied, in the same transaction as the effect, and ignores them the second time."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import async_sessionmaker

from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession


class InboxEntry(SQLModel, table=True):
    __tablename__ = "inbox_processed_events"

    consumer: str = Field(primary_key=True, max_length=120)
    event_id: str = Field(primary_key=True, max_length=36)
    processed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


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
