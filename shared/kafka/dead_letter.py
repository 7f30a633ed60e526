"""Dead-letter middleware: a message the handler cannot process goes to `<topic>.dlq` with
headers saying where it came from, why and after how many attempts, and the consumer moves on.

Which failures go there at once, which after a bounded number of retries and which are retried
without bound (a dependency that does not answer) is decided in one place: failures.py.
"""

import asyncio
import logging
from types import TracebackType
from typing import Any

from aiokafka import ConsumerRecord
from faststream import BaseMiddleware
from faststream.exceptions import HandlerException
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pydantic import ValidationError

from shared.kafka.failures import FailureCounts, FailureKind, RetryPolicy, classify
from shared.kafka.producer_metadata import track_topics
from shared.topics import dead_letter_topic

logger = logging.getLogger("songtor.dead_letter")

_MAX_REASON_CHARS = 1000


def describe_failure(exc: BaseException, *, subject: str | None = None) -> str:
    """Why a message failed, without echoing its content: a validation error's text would
    otherwise carry the input values (a national ID) into headers and logs. `subject` names what
    was validated (a batch decodes each record as the `event`), in front of each field's path."""
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in (subject, *error['loc']) if part is not None) or 'message'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        return f"{exc.error_count()} validation error(s): {problems}"[:_MAX_REASON_CHARS]
    return str(exc)[:_MAX_REASON_CHARS]


class DeadLetterHeaders:
    """Header names on a dead-lettered message (values are UTF-8 strings)."""

    ORIGINAL_TOPIC = "dlq.original_topic"
    ORIGINAL_PARTITION = "dlq.original_partition"
    ORIGINAL_OFFSET = "dlq.original_offset"
    CONSUMER_GROUP = "dlq.consumer_group"
    EXCEPTION_CLASS = "dlq.exception_class"
    EXCEPTION_MESSAGE = "dlq.exception_message"
    SERVICE = "dlq.service"
    # How many times the consumer tried the message and failed (a dependency outage meanwhile does
    # not count): 1 for a message that can never succeed, the retry bound for one that kept failing.
    ATTEMPTS = "dlq.attempts"


class DeadLetterDesk:
    """Sends a message to `<topic>.dlq` with the dlq.* headers, waits before a retry, and counts
    both; one per service, shared by the per-message middleware and the batched subscribers
    (shared/kafka/batches.py), whose batch sizes it counts too (the one consumer-side object
    every subscriber is given)."""

    def __init__(self, *, service: str, registry: CollectorRegistry, retry: RetryPolicy | None = None) -> None:
        self.service = service
        self.retry = retry or RetryPolicy()
        self.dead_letters = Counter(
            "songtor_dead_letters",
            "Messages sent to a dead-letter topic.",
            ["service", "topic", "consumer_group", "exception_class"],
            registry=registry,
        )
        self.failures = Counter(
            "songtor_consumer_failures",
            "Failed attempts to handle a message, by kind: permanent (dead-lettered at once), retried "
            "(up to the retry bound), unavailable (a dependency did not answer: retried without bound).",
            ["service", "topic", "consumer_group", "exception_class", "kind"],
            registry=registry,
        )
        # A consumer retrying is a consumer not moving on: the alert watches this, before a dead
        # letter (or, for an outage, instead of one).
        self.retrying = Gauge(
            "songtor_consumer_retrying",
            "1 while the consumer group waits to retry a failed message of the topic, else 0.",
            ["service", "consumer_group", "topic"],
            registry=registry,
        )
        # How full the batches are says whether a consumer keeps up (small batches) or works
        # through a backlog (batches near max_records), and what a batch's fixed costs weigh.
        self.batch_records = Histogram(
            "songtor_consumer_batch_records",
            "Records in each batch a consumer read and applied.",
            ["service", "consumer_group"],
            buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000),
            registry=registry,
        )

    def count_failure(self, *, topic: str, group: str, exc: BaseException, kind: FailureKind) -> None:
        self.failures.labels(self.service, topic, group, type(exc).__name__, kind.value).inc()

    async def send(self, broker: Any, record: ConsumerRecord, exc: BaseException, *, group: str,
                   attempts: int, subject: str | None = None) -> None:
        reason = describe_failure(exc, subject=subject)
        headers = {
            DeadLetterHeaders.ORIGINAL_TOPIC: record.topic,
            DeadLetterHeaders.ORIGINAL_PARTITION: str(record.partition),
            DeadLetterHeaders.ORIGINAL_OFFSET: str(record.offset),
            DeadLetterHeaders.CONSUMER_GROUP: group,
            DeadLetterHeaders.EXCEPTION_CLASS: type(exc).__name__,
            DeadLetterHeaders.EXCEPTION_MESSAGE: reason,
            DeadLetterHeaders.SERVICE: self.service,
            DeadLetterHeaders.ATTEMPTS: str(attempts),
        }
        # The original bytes are kept as they were, so a re-drive after a fix sends the same thing.
        track_topics(broker, {dead_letter_topic(record.topic)})
        await broker.publish(
            record.value or b"", dead_letter_topic(record.topic), key=record.key, headers=headers
        )
        self.dead_letters.labels(self.service, record.topic, group, type(exc).__name__).inc()
        logger.error(
            "dead-lettered %s[%d]@%d for group %s after %d attempt(s): %s",
            record.topic, record.partition, record.offset, group, attempts, type(exc).__name__,
        )

    async def back_off(self, *, topic: str, group: str, where: str, attempt: int, exc: BaseException,
                       kind: FailureKind) -> None:
        """Wait before the `attempt`-th retry; the consumer counts as retrying until `settled`."""
        self.retrying.labels(self.service, group, topic).set(1)
        delay = self.retry.delay(attempt)
        bound = "without bound" if kind is FailureKind.UNAVAILABLE else f"of at most {self.retry.attempts}"
        logger.warning("%s failure on %s (attempt %d %s, retry in %.2fs): %s",
                       kind.value, where, attempt, bound, delay, type(exc).__name__)
        await asyncio.sleep(delay)

    def settled(self, *, topic: str, group: str) -> None:
        self.retrying.labels(self.service, group, topic).set(0)


class DeadLetterMiddleware:
    """Broker middleware factory; FastStream calls it once per consumed message. Batches are the
    batched subscriber's to judge (shared/kafka/batches.py): it isolates the poison itself."""

    def __init__(self, *, desk: DeadLetterDesk) -> None:
        self.desk = desk
        # Failed attempts per (topic, partition, offset): the message's own, and an outage's (for
        # its backoff only).
        self.attempts = FailureCounts()
        self.outages = FailureCounts()

    def __call__(self, msg: Any, /, *, context: Any) -> "_DeadLetterScope":
        return _DeadLetterScope(msg, context=context, owner=self)


class _DeadLetterScope(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, owner: DeadLetterMiddleware) -> None:
        super().__init__(msg, context=context)
        self.owner = owner

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        record = self.msg
        if not isinstance(record, ConsumerRecord):
            return False  # batches and test doubles are not ours to judge
        owner, desk = self.owner, self.owner.desk
        position = (record.topic, record.partition, record.offset)
        handler = self.context.get("handler_")
        group = getattr(handler, "group_id", None) or ""
        if exc_val is None or isinstance(exc_val, (HandlerException, asyncio.CancelledError)):
            owner.attempts.forget(position)
            owner.outages.forget(position)
            if exc_val is None:
                desk.settled(topic=record.topic, group=group)
            return False
        kind = classify(exc_val)
        desk.count_failure(topic=record.topic, group=group, exc=exc_val, kind=kind)
        where = "%s[%d]@%d" % position
        if kind is FailureKind.UNAVAILABLE:
            await desk.back_off(topic=record.topic, group=group, where=where, attempt=owner.outages.add(position),
                                exc=exc_val, kind=kind)
            return False  # re-raised: NACK_ON_ERROR seeks back and the message is retried
        owner.outages.forget(position)
        attempts = owner.attempts.add(position)
        if not desk.retry.exhausted(kind=kind, attempts=attempts):
            await desk.back_off(topic=record.topic, group=group, where=where, attempt=attempts, exc=exc_val, kind=kind)
            return False
        try:
            await desk.send(self.context.get("broker"), record, exc_val, group=group, attempts=attempts)
        except Exception as failed:  # noqa: BLE001 - the message cannot be dropped: retried until its letter goes
            await desk.back_off(topic=record.topic, group=group, where=where, attempt=owner.outages.add(position),
                                exc=failed, kind=FailureKind.UNAVAILABLE)
            return False
        owner.attempts.forget(position)
        desk.settled(topic=record.topic, group=group)
        return True  # handled: the consumer commits past the message and moves on
