"""How a batch is judged (shared/kafka/batches.py), record by record, without a broker: the good
records are applied once and in order, each record that can never succeed is dead-lettered alone
at once, one that fails otherwise is retried (the batch re-read, as NACK does) up to the bound and
then dead-lettered with its attempts, and a dependency that does not answer re-reads the whole
batch without bound."""

import json
from collections.abc import Callable
from uuid import uuid4

import anyio
import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from shared.kafka.batches import BATCH_TIMEOUT_MS, DEFAULT_MAX_RECORDS, BatchRunner, batch_subscriber
from shared.kafka.broker import DEAD_LETTER_DESK
from shared.kafka.dead_letter import DeadLetterDesk
from shared.kafka.failures import InvalidMessage, RetryPolicy

BOUND = 3


class Event(BaseModel):
    event_id: str
    n: int


class Desk(DeadLetterDesk):
    """The dead-letter desk, keeping what it was given instead of publishing it; its backoffs are
    real but of milliseconds."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        super().__init__(service="test", registry=self.registry,
                         retry=RetryPolicy(attempts=BOUND, first_backoff_seconds=0.001, max_backoff_seconds=0.004))
        self.sent: list[tuple[int, int, str, int]] = []
        self.backoffs: list[tuple[str, int]] = []  # (kind, attempt)

    async def send(self, _broker, record, exc, *, group, attempts, subject=None):  # noqa: ANN001, ANN201
        self.sent.append((record.partition, record.offset, type(exc).__name__, attempts))

    async def back_off(self, **kwargs):  # noqa: ANN003, ANN201
        self.backoffs.append((kwargs["kind"].value, kwargs["attempt"]))
        await super().back_off(**kwargs)

    def failed(self, kind: str, exception_class: str) -> float:
        return self.registry.get_sample_value("songtor_consumer_failures_total", {
            "service": "test", "topic": "t", "consumer_group": "g", "exception_class": exception_class,
            "kind": kind}) or 0

    def retrying_now(self) -> float | None:
        return self.registry.get_sample_value("songtor_consumer_retrying",
                                              {"service": "test", "consumer_group": "g", "topic": "t"})


def record(partition: int, offset: int, value: bytes) -> ConsumerRecord:
    return ConsumerRecord(topic="t", partition=partition, offset=offset, timestamp=0, timestamp_type=0,
                          key=None, value=value, checksum=None, serialized_key_size=0,
                          serialized_value_size=len(value), headers=())


def good(partition: int, offset: int, n: int) -> ConsumerRecord:
    return record(partition, offset, json.dumps({"event_id": str(uuid4()), "n": n}).encode())


class Store:
    """A 'database' whose transaction applies all of a batch or nothing, like the real one, with
    an inbox: an event applied once is skipped when its batch is read again."""

    def __init__(self, *, refuse: set[int] = frozenset(), conflict_once: set[int] = frozenset(),
                 failing: dict[int, tuple[Callable[[], Exception], int]] | None = None) -> None:
        self.applied: list[int] = []
        self.inbox: set[str] = set()
        self.calls = 0
        self.refuse, self.conflict_once = refuse, set(conflict_once)
        # n -> (the error, how many reads of the batch it lasts); `reads` is counted by redelivered()
        self.failing, self.reads = failing or {}, 0

    async def handle(self, events: list[Event]) -> None:
        self.calls += 1
        if bad := [e.n for e in events if e.n in self.refuse]:
            raise InvalidMessage(f"refused {bad}")
        if hit := [e.n for e in events if e.n in self.conflict_once]:
            self.conflict_once.difference_update(hit)
            raise IntegrityError("insert", {}, Exception("duplicate key"))
        for e in events:
            if e.n in self.failing and self.reads < self.failing[e.n][1]:
                raise self.failing[e.n][0]()
        fresh = [e for e in events if e.event_id not in self.inbox]
        self.inbox.update(e.event_id for e in fresh)
        self.applied.extend(e.n for e in fresh)


async def redelivered(batch_runner: BatchRunner, store: Store, batch: list[ConsumerRecord], *,
                      most: int = 20) -> list[str]:
    """Run the batch as the subscriber does: a run that raises is read again (NACK seeks back),
    until one goes through. Returns the class of each run's failure."""
    failed: list[str] = []
    for _ in range(most):
        try:
            await batch_runner.run(batch)
            return failed
        except Exception as exc:  # noqa: BLE001 - what NACK_ON_ERROR would see
            failed.append(type(exc).__name__)
        finally:
            store.reads += 1
    raise AssertionError(f"still failing after {most} reads: {failed}")


def down() -> OperationalError:
    """As SQLAlchemy raises a failed connect: outside any statement, the driver's error as cause."""
    refused = ConnectionRefusedError(111, "Connection refused")
    error = OperationalError(None, None, refused)
    error.__cause__ = refused
    return error


def missing_column() -> ProgrammingError:
    return ProgrammingError("INSERT INTO facts ...", {}, Exception('column "stage" does not exist'))


def runner(store: Store, desk: Desk) -> BatchRunner:
    return BatchRunner(desk=desk, broker=None, group="g", model=Event, handle=store.handle)


async def test_poison_in_the_middle_on_two_partitions_goes_alone_and_the_rest_is_applied_once():
    store, desk = Store(refuse={13}), Desk()
    batch = [good(0, i, i) for i in range(10)] + [good(1, i, 10 + i) for i in range(3)]
    batch += [record(1, 3, b"{not json"), good(1, 4, 13), *[good(1, 5 + i, 14 + i) for i in range(6)]]
    await runner(store, desk).run(batch)
    assert store.applied == [n for n in range(20) if n != 13]  # each once, in the batch's order
    assert sorted(desk.sent) == [(1, 3, "ValidationError", 1), (1, 4, "InvalidMessage", 1)]
    assert desk.backoffs == []  # neither can ever succeed: no retry
    assert (desk.failed("permanent", "ValidationError"), desk.failed("permanent", "InvalidMessage")) == (1, 1)


async def test_a_clean_batch_is_one_transaction():
    store = Store()
    desk = Desk()
    await runner(store, desk).run([good(p, i, 10 * p + i) for p in (0, 1) for i in range(50)])
    assert store.calls == 1 and len(store.applied) == 100
    labels = {"service": "test", "consumer_group": "g"}
    assert [desk.registry.get_sample_value(f"songtor_consumer_batch_records_{kind}", labels)
            for kind in ("count", "sum")] == [1, 100]


async def test_an_unanswering_database_re_reads_the_whole_batch_without_bound_and_dead_letters_nothing():
    outage = 3 * BOUND  # far past the bound: an outage is not the records' fault
    store, desk = Store(failing={0: (down, outage)}), Desk()
    batch_runner, batch = runner(store, desk), [good(0, i, i) for i in range(5)]
    assert await redelivered(batch_runner, store, batch, most=outage + 1) == ["OperationalError"] * outage
    assert desk.sent == [] and store.applied == [0, 1, 2, 3, 4]
    assert desk.backoffs == [("unavailable", attempt) for attempt in range(1, outage + 1)]  # each wait longer
    assert desk.failed("unavailable", "OperationalError") == outage
    assert desk.retrying_now() == 0  # it moved on


async def test_an_operational_error_that_clears_after_two_attempts_is_applied_once_and_not_dead_lettered():
    def locked() -> OperationalError:
        return OperationalError("UPDATE facts ...", {}, Exception("database is locked"))

    store, desk = Store(failing={2: (locked, 2)}), Desk()
    batch_runner, batch = runner(store, desk), [good(0, i, i) for i in range(5)]
    assert await redelivered(batch_runner, store, batch) == ["OperationalError"] * 2
    assert sorted(store.applied) == [0, 1, 2, 3, 4] and desk.sent == []
    assert desk.backoffs == [("retried", 1), ("retried", 2)]
    assert desk.failed("retried", "OperationalError") == 2 and desk.retrying_now() == 0


async def test_a_programming_error_that_never_clears_is_dead_lettered_after_exactly_the_bound():
    store, desk = Store(failing={12: (missing_column, 100)}), Desk()
    batch = [good(0, i, i) for i in range(10)] + [good(1, i, 10 + i) for i in range(5)]
    batch_runner = runner(store, desk)
    with pytest.raises(ProgrammingError):
        await batch_runner.run(batch)
    store.reads += 1
    assert desk.retrying_now() == 1  # while it waits for its next attempt, the alert's gauge says so
    # What is before it is applied; what is behind it waits for it, as behind a single message.
    assert store.applied == list(range(12))
    assert await redelivered(batch_runner, store, batch) == ["ProgrammingError"] * (BOUND - 2)
    assert desk.sent == [(1, 2, "ProgrammingError", BOUND)]
    assert sorted(store.applied) == [n for n in range(15) if n != 12]  # every good record once
    assert desk.failed("retried", "ProgrammingError") == BOUND
    assert desk.backoffs == [("retried", attempt) for attempt in range(1, BOUND)]  # none after the last
    assert desk.retrying_now() == 0


async def test_two_failing_records_each_get_their_own_attempts():
    store, desk = Store(failing={1: (missing_column, 100), 3: (missing_column, 100)}), Desk()
    await redelivered(runner(store, desk), store, [good(0, i, i) for i in range(5)])
    assert desk.sent == [(0, 1, "ProgrammingError", BOUND), (0, 3, "ProgrammingError", BOUND)]
    assert sorted(store.applied) == [0, 2, 4]


async def test_a_poison_record_met_again_after_a_re_read_is_not_dead_lettered_twice():
    store, desk = Store(refuse={1}), Desk()
    batch_runner = runner(store, desk)
    batch = [good(0, 0, 0), good(0, 1, 1), good(0, 2, 2)]
    await batch_runner.run(batch)
    await batch_runner.run(batch)  # as after a rebalance or a nack
    assert desk.sent == [(0, 1, "InvalidMessage", 1)]


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
