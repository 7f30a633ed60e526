"""The transactional outbox: an event is written in the same transaction as the state change
that caused it, then published. A crash between the two cannot lose the event: the relay
publishes whatever is still pending at start-up and on a timer."""

import asyncio
import logging
from datetime import UTC, datetime

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Field, SQLModel, col, func, select

from shared.contracts import EventEnvelope
from shared.db.engine import session_factory
from shared.db.relay_turn import RelayTurn

logger = logging.getLogger("songtor.outbox")


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_messages"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=36)
    topic: str = Field(max_length=200)
    key: str = Field(max_length=100)
    payload: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    published_at: datetime | None = Field(default=None, index=True)


def add_to_outbox(session, *, topic: str, key: str, event: EventEnvelope) -> None:  # noqa: ANN001
    session.add(
        OutboxMessage(event_id=str(event.event_id), topic=topic, key=key, payload=event.model_dump_json())
    )


class OutboxRelay:
    """Publishes pending outbox rows in the order they were written."""

    def __init__(self, *, engine: AsyncEngine, broker: KafkaBroker, batch_size: int = 200) -> None:
        self._sessions = session_factory(engine)
        self._broker = broker
        self._batch_size = batch_size
        # One flush at a time keeps per-key order and stops two flushes sending the same row.
        self._lock = asyncio.Lock()
        # ...and the same between processes that share the database.
        self._turn = RelayTurn(engine=engine)

    async def flush(self) -> int:
        """Publish every pending row; returns how many were published."""
        published = 0
        async with self._lock:
            while True:
                async with self._sessions() as session, self._turn.held(session):
                    rows = (
                        await session.exec(
                            select(OutboxMessage)
                            .where(col(OutboxMessage.published_at).is_(None))
                            .order_by(col(OutboxMessage.id))
                            .limit(self._batch_size)
                        )
                    ).all()
                    if not rows:
                        return published
                    # Enqueue in order without waiting for each ack, then wait for all: the
                    # producer keeps per-partition order, and a batch costs one round trip.
                    pending = [
                        await self._broker.publish(
                            row.payload.encode(),
                            row.topic,
                            key=row.key.encode(),
                            headers={"content-type": "application/json"},
                            no_confirm=True,
                        )
                        for row in rows
                    ]
                    await asyncio.gather(*pending)
                    sent_at = datetime.now(UTC)
                    for row in rows:
                        row.published_at = sent_at
                        session.add(row)
                    published += len(rows)
                    await session.commit()

    async def flush_or_defer(self) -> None:
        """Publish now if the broker answers. What is already committed in the outbox is durable,
        so a failure here is only a delay: the relay loop publishes it when the broker is back."""
        try:
            await self.flush()
        except Exception:  # noqa: BLE001
            logger.warning("publish deferred to the outbox relay loop", exc_info=True)

    async def pending(self) -> int:
        async with self._sessions() as session:
            result = await session.exec(
                select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.published_at).is_(None))
            )
            return result.one()

    async def run(self, *, interval: float = 1.0) -> None:
        """Background loop: retries what a failed immediate flush left behind."""
        while True:
            try:
                await self.flush()
            except Exception:  # noqa: BLE001 - the loop must survive a broker or DB outage
                logger.warning("outbox flush failed; will retry", exc_info=True)
            await asyncio.sleep(interval)
