"""Several processes on one database each run an outbox relay (the agency adapters, one process
per agency): every pending row must still be published once, and in the order it was written."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from shared.contracts import EventEnvelope
from shared.db import OutboxRelay, add_to_outbox, create_tables, make_engine, session_factory
from shared.db.outbox import OutboxMessage

pytestmark = pytest.mark.integration

ROWS = 600


class RecordingBroker:
    """Stands in for Kafka: notes what was sent, and yields like a network call so that two
    relays interleave as two processes would."""

    def __init__(self, sent: list[str]) -> None:
        self.sent = sent

    async def publish(self, body: bytes, topic: str, **_options) -> asyncio.Future:  # noqa: ANN003
        self.sent.append(body.decode())
        await asyncio.sleep(0)
        return asyncio.ensure_future(asyncio.sleep(0.001))


def envelope(n: int) -> EventEnvelope:
    return EventEnvelope(event_id=uuid.UUID(int=n + 1), occurred_at=datetime.now(UTC), correlation_id=f"c{n}",
                         producer="test")


async def test_two_relays_on_one_database_publish_each_row_once_and_in_order(database_url):
    url = database_url("outbox")
    engines = [make_engine(url), make_engine(url)]  # two pools, as two processes have
    await create_tables(engines[0], [OutboxMessage.__table__])
    sent: list[str] = []
    relays = [OutboxRelay(engine=engine, broker=RecordingBroker(sent), batch_size=50) for engine in engines]

    async def write(first: int, count: int) -> None:
        async with session_factory(engines[0])() as session:
            for n in range(first, first + count):
                add_to_outbox(session, topic="t", key=f"k{n % 7}", event=envelope(n))
            await session.commit()

    try:
        await write(0, ROWS // 2)
        # Both relays flush while more rows arrive, several times over.
        await asyncio.gather(*(relay.flush() for relay in relays), write(ROWS // 2, ROWS // 2),
                             *(relay.flush() for relay in relays))
        await asyncio.gather(*(relay.flush() for relay in relays))
        assert await relays[0].pending() == 0
    finally:
        for engine in engines:
            await engine.dispose()

    ids = [EventEnvelope.model_validate_json(body).event_id.int - 1 for body in sent]
    assert len(ids) == len(set(ids)) == ROWS, f"{len(ids) - len(set(ids))} rows published twice"
    assert ids == sorted(ids), "rows published out of the order they were written"
