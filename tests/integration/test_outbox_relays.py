"""Several processes on one database each run an outbox relay (the agency adapters, one process
per agency): every pending row must still be published once, and each key's rows in the order
they were written; on PostgreSQL the relays share the rows instead of taking turns
(shared/db/relay_turn.py)."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from shared.contracts import EventEnvelope
from shared.db import OutboxRelay, add_to_outbox, create_tables, make_engine, session_factory
from shared.db.outbox import OutboxMessage
from shared.db.relay_turn import RelayTurn

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

    try:
        await write_rows(engines[0], 0, ROWS // 2, keys=7)
        # Both relays flush while more rows arrive, several times over.
        await asyncio.gather(*(relay.flush() for relay in relays), write_rows(engines[0], ROWS // 2, ROWS // 2, keys=7),
                             *(relay.flush() for relay in relays))
        await asyncio.gather(*(relay.flush() for relay in relays))
        assert await relays[0].pending() == 0
    finally:
        for engine in engines:
            await engine.dispose()

    ids = [EventEnvelope.model_validate_json(body).event_id.int - 1 for body in sent]
    assert len(ids) == len(set(ids)) == ROWS, f"{len(ids) - len(set(ids))} rows published twice"
    assert ids == sorted(ids), "rows published out of the order they were written"


async def write_rows(engine, first: int, count: int, *, keys: int) -> None:  # noqa: ANN001
    async with session_factory(engine)() as session:
        for n in range(first, first + count):
            add_to_outbox(session, topic="t", key=f"k{n % keys}", event=envelope(n))
        await session.commit()


def per_key(numbers: list[int], *, keys: int) -> dict[int, list[int]]:
    rows: dict[int, list[int]] = {}
    for n in numbers:
        rows.setdefault(n % keys, []).append(n)
    return rows


async def test_two_relays_keep_each_key_in_order_while_publishing_many_keys_side_by_side(database_url):
    keys = 97  # batches of 50 then hold mostly different keys, which two relays may publish at once
    url = database_url("outbox")
    engines = [make_engine(url), make_engine(url)]
    await create_tables(engines[0], [OutboxMessage.__table__])
    sent: list[str] = []
    relays = [OutboxRelay(engine=engine, broker=RecordingBroker(sent), batch_size=50) for engine in engines]
    try:
        await write_rows(engines[0], 0, ROWS // 2, keys=keys)
        await asyncio.gather(*(relay.flush() for relay in relays), write_rows(engines[1], ROWS // 2, ROWS // 2, keys=keys),
                             *(relay.flush() for relay in relays))
        await asyncio.gather(*(relay.flush() for relay in relays))
        assert await relays[0].pending() == 0
    finally:
        for engine in engines:
            await engine.dispose()

    ids = [EventEnvelope.model_validate_json(body).event_id.int - 1 for body in sent]
    assert len(ids) == len(set(ids)) == ROWS, f"{len(ids) - len(set(ids))} rows published twice"
    for key, numbers in per_key(ids, keys=keys).items():
        assert numbers == sorted(numbers), f"key k{key} published out of the order it was written"


async def test_a_relay_publishes_other_keys_while_another_holds_a_claim_and_holds_back_that_claims_keys(postgres):
    """PostgreSQL: while relay A holds its claim (it is publishing), relay B skips A's rows,
    publishes the rows of keys A does not hold, and leaves the later rows of A's keys, which may
    not overtake A's. (SQLite has one relay at a time: B would wait for A's file lock.)"""
    url = postgres.fresh_database(f"outbox_{uuid.uuid4().hex[:8]}")
    engines = [make_engine(url), make_engine(url)]
    await create_tables(engines[0], [OutboxMessage.__table__])
    sent: list[str] = []
    relay_b = OutboxRelay(engine=engines[1], broker=RecordingBroker(sent), batch_size=50)
    turn_a = RelayTurn(engine=engines[0], table=OutboxMessage.__table__)
    try:
        # Rows 0-9 on keys k0-k4, then rows 10-19 on keys k0-k9.
        await write_rows(engines[0], 0, 10, keys=5)
        await write_rows(engines[0], 10, 10, keys=10)
        async with turn_a.claim(limit=10, now=datetime.now(UTC)) as claim_a:
            assert [row.key for row in claim_a.rows] == [f"k{n % 5}" for n in range(10)]
            published_by_b = await relay_b._round()  # one round, with A's claim still open
            assert published_by_b.published == 5 and published_by_b.claimed == 10
            await claim_a.settle(published=[row.id for row in claim_a.rows], failures=[], at=datetime.now(UTC))
        assert await relay_b.flush() == 5
        assert await relay_b.pending() == 0
    finally:
        for engine in engines:
            await engine.dispose()

    ids = [EventEnvelope.model_validate_json(body).event_id.int - 1 for body in sent]
    # B's first round: rows 15-19 (keys k5-k9, which A does not hold); rows 10-14 (k0-k4) waited
    # for A's rows of the same keys, then went in B's second round.
    assert ids == [15, 16, 17, 18, 19, 10, 11, 12, 13, 14]


async def test_a_woken_relay_publishes_without_waiting_for_its_timer(database_url):
    engine = make_engine(database_url("outbox"))
    await create_tables(engine, [OutboxMessage.__table__])
    sent: list[str] = []
    relay = OutboxRelay(engine=engine, broker=RecordingBroker(sent))
    loop = asyncio.create_task(relay.run(interval=3600))  # the timer would not fire during the test
    try:
        await asyncio.sleep(0.5)  # let the loop's start-up round pass: what follows is the wake's
        await write_rows(engine, 0, 30, keys=3)
        relay.wake()
        for _ in range(600):
            if await relay.pending() == 0:
                break
            await asyncio.sleep(0.05)
        assert await relay.pending() == 0
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await engine.dispose()
    assert [EventEnvelope.model_validate_json(body).event_id.int - 1 for body in sent] == list(range(30))
