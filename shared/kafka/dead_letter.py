"""Dead-letter middleware: a message the handler cannot process goes to `<topic>.dlq` with
headers saying where it came from and why, and the consumer moves on.

Transient failures (database or broker unreachable) are not the message's fault: they are
retried with a capped backoff instead of being dead-lettered, so an outage does not empty the
queues into the dead-letter topics.
"""

import asyncio
import logging
from types import TracebackType
from typing import Any

from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError
from faststream import BaseMiddleware
from faststream.exceptions import HandlerException
from prometheus_client import CollectorRegistry, Counter, Histogram
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from shared.kafka.producer_metadata import track_topics
from shared.topics import dead_letter_topic

logger = logging.getLogger("songtor.dead_letter")

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    KafkaError,
    ConnectionError,
    TimeoutError,
)
# A unique-key collision is usually a race with a concurrent writer of the same row and goes
# away on retry; one that persists is a real conflict in the message and is dead-lettered.
CONFLICT_ERRORS: tuple[type[BaseException], ...] = (IntegrityError,)
_MAX_CONFLICT_ATTEMPTS = 5
_MAX_BACKOFF_SECONDS = 30.0
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


class DeadLetterDesk:
    """Sends a message to `<topic>.dlq` with the dlq.* headers, and counts it; one per service,
    shared by the per-message middleware and the batched subscribers (shared/kafka/batches.py),
    whose batch sizes it counts too (the one consumer-side object every subscriber is given)."""

    def __init__(self, *, service: str, registry: CollectorRegistry) -> None:
        self.service = service
        self.dead_letters = Counter(
            "songtor_dead_letters",
            "Messages sent to a dead-letter topic.",
            ["service", "topic", "consumer_group", "exception_class"],
            registry=registry,
        )
        self.transient_failures = Counter(
            "songtor_transient_failures",
            "Handler failures retried because a dependency was unreachable.",
            ["service", "topic", "exception_class"],
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

    async def send(self, broker: Any, record: ConsumerRecord, exc: BaseException, *, group: str,
                   subject: str | None = None) -> None:
        reason = describe_failure(exc, subject=subject)
        headers = {
            DeadLetterHeaders.ORIGINAL_TOPIC: record.topic,
            DeadLetterHeaders.ORIGINAL_PARTITION: str(record.partition),
            DeadLetterHeaders.ORIGINAL_OFFSET: str(record.offset),
            DeadLetterHeaders.CONSUMER_GROUP: group,
            DeadLetterHeaders.EXCEPTION_CLASS: type(exc).__name__,
            DeadLetterHeaders.EXCEPTION_MESSAGE: reason,
            DeadLetterHeaders.SERVICE: self.service,
        }
        # The original bytes are kept as they were, so a re-drive after a fix sends the same thing.
        track_topics(broker, {dead_letter_topic(record.topic)})
        await broker.publish(
            record.value or b"", dead_letter_topic(record.topic), key=record.key, headers=headers
        )
        self.dead_letters.labels(self.service, record.topic, group, type(exc).__name__).inc()
        logger.error(
            "dead-lettered %s[%d]@%d for group %s: %s",
            record.topic, record.partition, record.offset, group, type(exc).__name__,
        )

    async def back_off(self, *, topic: str, where: str, attempt: int, exc: BaseException) -> None:
        """Wait before a retry: 0.5 s doubling per consecutive failure, capped."""
        self.transient_failures.labels(self.service, topic, type(exc).__name__).inc()
        delay = min(_MAX_BACKOFF_SECONDS, 0.5 * 2 ** (attempt - 1))
        logger.warning("transient failure on %s (attempt %d, retry in %.1fs): %s",
                       where, attempt, delay, type(exc).__name__)
        await asyncio.sleep(delay)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_ERRORS)


class DeadLetterMiddleware:
    """Broker middleware factory; FastStream calls it once per consumed message. Batches are the
    batched subscriber's to judge (shared/kafka/batches.py): it isolates the poison itself."""

    def __init__(self, *, desk: DeadLetterDesk) -> None:
        self.desk = desk
        # Consecutive transient failures per (topic, partition, offset), for the backoff.
        self._attempts: dict[tuple[str, int, int], int] = {}

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
        position = (record.topic, record.partition, record.offset)
        if exc_val is None or isinstance(exc_val, (HandlerException, asyncio.CancelledError)):
            self.owner._attempts.pop(position, None)
            return False
        retry_conflict = (
            isinstance(exc_val, CONFLICT_ERRORS)
            and self.owner._attempts.get(position, 0) < _MAX_CONFLICT_ATTEMPTS
        )
        if isinstance(exc_val, TRANSIENT_ERRORS) or retry_conflict:
            await self._back_off(position, record.topic, exc_val)
            return False  # re-raised: NACK_ON_ERROR seeks back and the message is retried
        await self._dead_letter(record, exc_val)
        self.owner._attempts.pop(position, None)
        return True  # handled: the consumer commits past the poison message and moves on

    async def _back_off(self, position: tuple[str, int, int], topic: str, exc: BaseException) -> None:
        attempt = self.owner._attempts.get(position, 0) + 1
        self.owner._attempts[position] = attempt
        await self.owner.desk.back_off(topic=topic, where="%s[%d]@%d" % position, attempt=attempt, exc=exc)

    async def _dead_letter(self, record: ConsumerRecord, exc: BaseException) -> None:
        handler = self.context.get("handler_")
        group = getattr(handler, "group_id", None) or ""
        await self.owner.desk.send(self.context.get("broker"), record, exc, group=group)
