"""How a batch is judged (shared/kafka/batches.py), record by record, without a broker: the good
records are applied once and in order, each poison record is dead-lettered alone, and a failure
that is not the records' fault re-reads the whole batch."""

import json
from uuid import uuid4

import anyio
import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError, OperationalError

from shared.kafka.batches import BATCH_TIMEOUT_MS, DEFAULT_MAX_RECORDS, BatchRunner, batch_subscriber
from shared.kafka.broker import DEAD_LETTER_DESK
from shared.kafka.dead_letter import DeadLetterDesk


class Event(BaseModel):
    event_id: str
    n: int


class Desk(DeadLetterDesk):
    """The dead-letter desk, keeping what it was given instead of publishing it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        super().__init__(service="test", registry=self.registry)
        self.sent: list[tuple[int, int, str]] = []
        self.backoffs = 0

    async def send(self, _broker, record, exc, *, group, subject=None):  # noqa: ANN001, ANN201
        self.sent.append((record.partition, record.offset, type(exc).__name__))

    async def back_off(self, **_):  # noqa: ANN003, ANN201
        self.backoffs += 1


def record(partition: int, offset: int, value: bytes) -> ConsumerRecord:
    return ConsumerRecord(topic="t", partition=partition, offset=offset, timestamp=0, timestamp_type=0,
                          key=None, value=value, checksum=None, serialized_key_size=0,
                          serialized_value_size=len(value), headers=())


def good(partition: int, offset: int, n: int) -> ConsumerRecord:
    return record(partition, offset, json.dumps({"event_id": str(uuid4()), "n": n}).encode())


class Store:
    """A 'database' whose transaction applies all of a batch or nothing, like the real one."""

    def __init__(self, *, refuse: set[int] = frozenset(), conflict_once: set[int] = frozenset()) -> None:
        self.applied: list[int] = []
        self.calls = 0
        self.refuse, self.conflict_once = refuse, set(conflict_once)

    async def handle(self, events: list[Event]) -> None:
        self.calls += 1
        if bad := [e.n for e in events if e.n in self.refuse]:
            raise ValueError(f"refused {bad}")
        if hit := [e.n for e in events if e.n in self.conflict_once]:
            self.conflict_once.difference_update(hit)
            raise IntegrityError("insert", {}, Exception("duplicate key"))
        self.applied.extend(e.n for e in events)


def runner(store: Store, desk: Desk) -> BatchRunner:
    return BatchRunner(desk=desk, broker=None, group="g", model=Event, handle=store.handle)


async def test_poison_in_the_middle_on_two_partitions_goes_alone_and_the_rest_is_applied_once():
    store, desk = Store(refuse={13}), Desk()
    batch = [good(0, i, i) for i in range(10)] + [good(1, i, 10 + i) for i in range(3)]
    batch += [record(1, 3, b"{not json"), good(1, 4, 13), *[good(1, 5 + i, 14 + i) for i in range(6)]]
    await runner(store, desk).run(batch)
    assert store.applied == [n for n in range(20) if n != 13]  # each once, in the batch's order
    assert sorted(desk.sent) == [(1, 3, "ValidationError"), (1, 4, "ValueError")]


async def test_a_clean_batch_is_one_transaction():
    store = Store()
    desk = Desk()
    await runner(store, desk).run([good(p, i, 10 * p + i) for p in (0, 1) for i in range(50)])
    assert store.calls == 1 and len(store.applied) == 100
    labels = {"service": "test", "consumer_group": "g"}
    assert [desk.registry.get_sample_value(f"songtor_consumer_batch_records_{kind}", labels)
            for kind in ("count", "sum")] == [1, 100]


async def test_a_transient_failure_re_reads_the_whole_batch_and_dead_letters_nothing():
    class Down(Store):
        async def handle(self, events):  # noqa: ANN001, ANN201
            raise OperationalError("select 1", {}, Exception("database is down"))

    desk = Desk()
    with pytest.raises(OperationalError):
        await runner(Down(), desk).run([good(0, i, i) for i in range(5)])
    assert desk.sent == [] and desk.backoffs == 1


async def test_a_conflict_is_retried_before_it_counts_as_poison():
    store, desk = Store(conflict_once={2}), Desk()
    await runner(store, desk).run([good(0, i, i) for i in range(4)])
    assert sorted(store.applied) == [0, 1, 2, 3] and desk.sent == []


async def test_a_poison_record_met_again_after_a_re_read_is_not_dead_lettered_twice():
    store, desk = Store(refuse={1}), Desk()
    batch_runner = runner(store, desk)
    batch = [good(0, 0, 0), good(0, 1, 1), good(0, 2, 2)]
    await batch_runner.run(batch)
    await batch_runner.run(batch)  # as after a rebalance or a nack
    assert desk.sent == [(0, 1, "ValueError")]


async def test_an_idle_poll_polls_again_at_once_instead_of_sleeping(monkeypatch):
    # FastStream's own batch poll sleeps as long again after finding nothing, leaving a consumer
    # deaf to a record arriving meanwhile; the subscriber's poll only waits inside getmany.
    broker = KafkaBroker()
    broker.context.set_global(DEAD_LETTER_DESK, Desk())
    batch_subscriber(broker, "t", group_id="g", model=Event, handle=Store().handle, name="consume_t")
    (subscriber,) = broker.subscribers

    async def no_sleep(*_):  # noqa: ANN002, ANN202
        raise AssertionError("the poll slept after an empty fetch")

    monkeypatch.setattr(anyio, "sleep", no_sleep)

    class Consumer:
        def __init__(self, answers: list[dict]) -> None:
            self.answers, self.waits = answers, []

        async def getmany(self, *, timeout_ms: int, max_records: int) -> dict:
            self.waits.append((timeout_ms, max_records))
            return self.answers.pop(0)

    consumer = Consumer([{}, {"t-0": [good(0, 0, 1)], "t-1": [good(1, 0, 2), good(1, 1, 3)]}])
    assert await subscriber.get_msg(consumer) == ()
    assert [r.offset for r in await subscriber.get_msg(consumer)] == [0, 0, 1]
    assert consumer.waits == [(BATCH_TIMEOUT_MS, DEFAULT_MAX_RECORDS)] * 2
