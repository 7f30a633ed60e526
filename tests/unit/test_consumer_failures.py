"""The consumers' error policy (shared/kafka/failures.py): which failures are dead-lettered at
once, which are retried up to the bound, which without bound; and the policy at work on
FastStream's in-memory broker, for a per-message subscriber (the dead-letter middleware) and a
batched one. The in-memory broker does not redeliver: a failure comes out of `publish`, and the
test publishes the same record again, as NACK's seek would bring it back."""

import json
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, NodeNotReadyError, TopicAuthorizationFailedError
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from shared.db import make_engine
from shared.kafka import DeadLetterHeaders, InvalidMessage, RetryPolicy, build_broker
from shared.kafka.batches import batch_subscriber
from shared.kafka.failures import FailureKind, classify
from shared.settings import KafkaSettings

BOUND = 3
FAST = RetryPolicy(attempts=BOUND, first_backoff_seconds=0.001, max_backoff_seconds=0.004)


class Event(BaseModel):
    event_id: str
    n: int


def validation_error() -> ValidationError:
    try:
        Event.model_validate_json(b'{"n": "x"}')
    except ValidationError as exc:
        return exc
    raise AssertionError("validated")


def with_cause(error: BaseException, cause: BaseException) -> BaseException:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(("error", "kind"), [
    (validation_error(), FailureKind.PERMANENT),
    (json.JSONDecodeError("Expecting value", "{x", 1), FailureKind.PERMANENT),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), FailureKind.PERMANENT),
    (InvalidMessage("referral for agency 'employment' arrived on referral.assigned.welfare"), FailureKind.PERMANENT),
    # A failed connect: raised outside any statement.
    (OperationalError(None, None, Exception("connection failed: Connection refused")), FailureKind.UNAVAILABLE),
    # A connection dropped under a statement: SQLAlchemy flags it.
    (OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"),
                      connection_invalidated=True), FailureKind.UNAVAILABLE),
    (PoolTimeoutError("QueuePool limit of size 5 overflow 10 reached"), FailureKind.UNAVAILABLE),
    (ConnectionRefusedError(111, "Connection refused"), FailureKind.UNAVAILABLE),
    (TimeoutError(), FailureKind.UNAVAILABLE),
    (KafkaConnectionError("no broker"), FailureKind.UNAVAILABLE),
    (NodeNotReadyError(), FailureKind.UNAVAILABLE),
    (with_cause(RuntimeError("publish failed"), KafkaConnectionError("no broker")), FailureKind.UNAVAILABLE),
    # The database answered: the answer may be the message's.
    (OperationalError("UPDATE facts SET ...", {}, Exception("database is locked")), FailureKind.RETRIED),
    (ProgrammingError("INSERT INTO agency_referrals ...", {}, Exception("permission denied")), FailureKind.RETRIED),
    (IntegrityError("INSERT INTO inbox ...", {}, Exception("duplicate key")), FailureKind.RETRIED),
    (TopicAuthorizationFailedError(), FailureKind.RETRIED),
    (ValueError("a bug"), FailureKind.RETRIED),
    (KeyError("need_code"), FailureKind.RETRIED),
])
def test_each_failure_has_its_kind(error, kind):
    assert classify(error) is kind


async def test_real_database_failures_are_told_apart(tmp_path):
    # Nothing listens on port 1: the connect itself fails, as when PostgreSQL is down.
    unreachable = make_engine("postgresql://songtor:songtor@127.0.0.1:1/songtor")
    try:
        with pytest.raises(OperationalError) as refused:
            async with unreachable.connect() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        await unreachable.dispose()
    assert classify(refused.value) is FailureKind.UNAVAILABLE
    # A table the code expects and the database lacks (a migration not run): the database answers.
    behind = make_engine(f"sqlite:///{tmp_path}/behind.db")
    try:
        with pytest.raises(OperationalError) as missing:
            async with behind.connect() as connection:
                await connection.execute(text("SELECT * FROM facts"))
    finally:
        await behind.dispose()
    assert classify(missing.value) is FailureKind.RETRIED


def test_the_backoff_doubles_up_to_its_ceiling_with_jitter_and_never_zero():
    policy = RetryPolicy(attempts=12, first_backoff_seconds=0.5, max_backoff_seconds=60)
    assert [policy.delay(n, draw=lambda: 1.0) for n in (1, 2, 3, 8, 9, 40)] == [0.5, 1, 2, 60, 60, 60]
    assert [policy.delay(n, draw=lambda: 0.0) for n in (1, 2, 8)] == [0.25, 0.5, 30]
    # The default bound: 11 waits between 12 attempts, 2.5 to 5 minutes in all.
    assert sum(policy.delay(n, draw=lambda: 1.0) for n in range(1, 12)) == pytest.approx(303.5)


def test_only_the_retried_kind_is_bounded():
    policy = RetryPolicy(attempts=BOUND)
    assert policy.exhausted(kind=FailureKind.PERMANENT, attempts=1)
    assert [policy.exhausted(kind=FailureKind.RETRIED, attempts=n) for n in (1, 2, 3)] == [False, False, True]
    assert not policy.exhausted(kind=FailureKind.UNAVAILABLE, attempts=10_000)


def test_the_policy_comes_from_the_kafka_settings(monkeypatch):
    monkeypatch.setenv("KAFKA_CONSUMER_RETRY_ATTEMPTS", "5")
    monkeypatch.setenv("KAFKA_CONSUMER_RETRY_MAX_BACKOFF_SECONDS", "30")
    assert RetryPolicy.from_kafka(KafkaSettings()) == RetryPolicy(attempts=5, first_backoff_seconds=0.5,
                                                                   max_backoff_seconds=30)
    monkeypatch.setenv("KAFKA_CONSUMER_RETRY_MAX_BACKOFF_SECONDS", "600")  # past max.poll.interval.ms
    with pytest.raises(ValidationError):
        KafkaSettings()


class Consumer:
    """A broker with one subscriber on topic `t` whose handler fails as told, and a capture of `t.dlq`."""

    def __init__(self, *, failures: list[BaseException], batched: bool) -> None:
        self.registry = CollectorRegistry()
        self.broker = build_broker(bootstrap_servers="unused:9092", service="test", registry=self.registry, retry=FAST)
        self.failures, self.applied, self.dead = list(failures), [], []

        async def apply(events: list[Event]) -> None:
            if self.failures:
                raise self.failures.pop(0)
            self.applied.extend(e.n for e in events)

        if batched:
            batch_subscriber(self.broker, "t", group_id="g", model=Event, handle=apply, name="on_t")
        else:
            @self.broker.subscriber("t", group_id="g")
            async def on_t(event: Event) -> None:
                await apply([event])

        @self.broker.subscriber("t.dlq")
        async def capture(body: Any, message: KafkaMessage) -> None:
            self.dead.append(message.headers)

    async def deliver(self, test_broker: TestKafkaBroker, body: bytes, *, most: int = 10) -> list[str]:
        """Publish the record, and again after each failure (as NACK's seek would); the failures' classes."""
        failed: list[str] = []
        for _ in range(most):
            try:
                await test_broker.publish(body, "t")
                return failed
            except Exception as exc:  # noqa: BLE001 - what the consumer's NACK would see
                failed.append(type(exc).__name__)
        raise AssertionError(f"still failing after {most} deliveries: {failed}")

    def sample(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, {"service": "test", "topic": "t", "consumer_group": "g",
                                                     **labels}) or 0


GOOD = json.dumps({"event_id": "e-1", "n": 7}).encode()


@pytest.mark.parametrize("batched", [False, True], ids=["per-message", "batched"])
async def test_a_message_that_does_not_validate_is_dead_lettered_on_its_first_attempt(batched):
    consumer = Consumer(failures=[], batched=batched)
    async with TestKafkaBroker(consumer.broker) as test_broker:
        assert await consumer.deliver(test_broker, b'{"event_id": "e-1"}') == []
    assert len(consumer.dead) == 1 and consumer.applied == []
    headers = consumer.dead[0]
    assert (headers[DeadLetterHeaders.EXCEPTION_CLASS], headers[DeadLetterHeaders.ATTEMPTS]) == ("ValidationError", "1")
    assert "n" in headers[DeadLetterHeaders.EXCEPTION_MESSAGE]
    assert consumer.sample("songtor_consumer_failures_total", exception_class="ValidationError", kind="permanent") == 1


@pytest.mark.parametrize("batched", [False, True], ids=["per-message", "batched"])
async def test_an_operational_error_that_clears_after_two_attempts_is_applied_once_and_not_dead_lettered(batched):
    locked = [OperationalError("UPDATE facts ...", {}, Exception("database is locked")) for _ in range(2)]
    consumer = Consumer(failures=locked, batched=batched)
    async with TestKafkaBroker(consumer.broker) as test_broker:
        assert await consumer.deliver(test_broker, GOOD) == ["OperationalError"] * 2
    assert consumer.applied == [7] and consumer.dead == []
    assert consumer.sample("songtor_consumer_failures_total", exception_class="OperationalError", kind="retried") == 2
    assert consumer.sample("songtor_consumer_retrying") == 0


@pytest.mark.parametrize("batched", [False, True], ids=["per-message", "batched"])
async def test_a_programming_error_that_never_clears_is_dead_lettered_after_exactly_the_bound(batched):
    never = [ProgrammingError("INSERT INTO facts ...", {}, Exception('column "stage" does not exist'))
             for _ in range(100)]
    consumer = Consumer(failures=never, batched=batched)
    async with TestKafkaBroker(consumer.broker) as test_broker:
        with pytest.raises(ProgrammingError):
            await test_broker.publish(GOOD, "t")
        assert consumer.sample("songtor_consumer_retrying") == 1  # what the alert watches, before the dead letter
        assert await consumer.deliver(test_broker, GOOD) == ["ProgrammingError"] * (BOUND - 2)
    assert consumer.applied == [] and len(consumer.dead) == 1
    headers = consumer.dead[0]
    assert headers[DeadLetterHeaders.ATTEMPTS] == str(BOUND)
    assert headers[DeadLetterHeaders.EXCEPTION_CLASS] == "ProgrammingError"
    assert 'column "stage" does not exist' in headers[DeadLetterHeaders.EXCEPTION_MESSAGE]
    assert consumer.sample("songtor_consumer_failures_total", exception_class="ProgrammingError",
                           kind="retried") == BOUND
    assert consumer.sample("songtor_dead_letters_total", exception_class="ProgrammingError") == 1
    assert consumer.sample("songtor_consumer_retrying") == 0  # it moved on


@pytest.mark.parametrize("batched", [False, True], ids=["per-message", "batched"])
async def test_an_unreachable_database_is_retried_past_the_bound_and_never_dead_lettered(batched):
    refused = Exception("connection failed: Connection refused")
    outage = [OperationalError(None, None, refused) for _ in range(3 * BOUND)]
    consumer = Consumer(failures=outage, batched=batched)
    async with TestKafkaBroker(consumer.broker) as test_broker:
        assert await consumer.deliver(test_broker, GOOD, most=3 * BOUND + 1) == ["OperationalError"] * (3 * BOUND)
    assert consumer.applied == [7] and consumer.dead == []
    assert consumer.sample("songtor_consumer_failures_total", exception_class="OperationalError",
                           kind="unavailable") == 3 * BOUND
