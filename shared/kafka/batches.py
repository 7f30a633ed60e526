"""Batched consumers: every consumer of the services reads records in batches, applies a whole
batch in one database transaction and commits its offsets once, after that transaction.

What a batch promises, whatever fails:

- **Nothing skipped.** Offsets are committed only after the batch's effect is durable (FastStream's
  `NACK_ON_ERROR`; its default would commit first). A retry re-reads the whole batch after a
  backoff: FastStream 0.7.8's `nack()` seeks every partition of the batch back to its earliest
  record (a batch spans partitions; older versions rewound only the first record's). Records
  applied before the failure are not applied twice: their ids are in the inbox.
- **Each failure as failures.py judges it.** A dependency that does not answer re-reads the batch,
  without bound. A record that does not decode into its contract is dead-lettered at once with
  the dlq.* headers (dead_letter.py), and the rest of the batch is applied. An effect that fails
  on one record fails its whole transaction, so the batch is split in halves, the first half
  applied before the second, down to the first record that fails alone: a record that can never
  succeed (`InvalidMessage`) is dead-lettered and the search goes on; any other failure is that
  record's attempt: the records before it stay applied, the batch is re-read after a backoff, and
  after the retry bound the record is dead-lettered with its attempt count and the rest applied.
  The records behind a retried record wait for it, as they would behind a single message.
- **One decoder.** FastStream would parse a batch's JSON itself and fail the whole batch on one
  unreadable record; the subscriber takes the raw records and decodes each here.
"""

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from itertools import chain
from typing import Any, Generic, TypeVar

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import BaseModel, ValidationError

from shared.kafka.broker import DEAD_LETTER_DESK, reliable_subscriber_options
from shared.kafka.dead_letter import DeadLetterDesk
from shared.kafka.failures import FailureCounts, FailureKind, classify

logger = logging.getLogger("songtor.batches")

Model = TypeVar("Model", bound=BaseModel)
Handle = Callable[[list[Model]], Awaitable[None]]

# Large enough that a batch's fixed costs (a transaction, a commit, an offset commit) are spread
# thin, small enough that a split to isolate poison costs few round trips (log2 of it).
DEFAULT_MAX_RECORDS = 500
# How long an idle poll waits for a first record before polling again. A poll returns as soon as
# records arrive (a batch is whatever has arrived, never held back to fill up), so this sets only
# how often an idle consumer wakes, not how long a record waits (see _poll_without_pause).
BATCH_TIMEOUT_MS = 100
# A record that does not decode is reported as the `event` it should have been ("event.intake_id:
# Field required"), the words of the dead-letter reasons since the first consumers.
EVENT = "event"
_REMEMBERED_DEAD = 10_000

Position = tuple[str, int, int]


def batch_subscriber(
    broker: KafkaBroker,
    *topics: str,
    group_id: str,
    model: type[Model],
    handle: Handle,
    name: str,
    max_records: int = DEFAULT_MAX_RECORDS,
    on_tombstone: Callable[[ConsumerRecord], Any] | None = None,
) -> None:
    """Subscribe `handle` to `topics` in consumer group `group_id`: it gets each batch's events,
    decoded into `model`, and must apply them all in one transaction or raise. On a compacted
    topic, `on_tombstone` turns a record without a value (a deletion) into what `handle` gets."""
    runner = BatchRunner(desk=broker.context.get(DEAD_LETTER_DESK), broker=broker, group=group_id,
                         model=model, handle=handle, on_tombstone=on_tombstone)

    async def consume(message: KafkaMessage) -> None:
        await runner.run(list(message.raw_message))

    consume.__name__ = name  # FastStream names handlers (and their metrics) after the function
    options = {**reliable_subscriber_options(group_id=group_id), "max_poll_records": max_records}
    subscriber = broker.subscriber(*topics, batch=True, max_records=max_records, batch_timeout_ms=BATCH_TIMEOUT_MS,
                                   decoder=_undecoded, **options)
    subscriber(consume)
    _poll_without_pause(subscriber)


def _poll_without_pause(subscriber: Any) -> None:
    """FastStream 0.7's batch subscriber sleeps for `batch_timeout_ms` after every poll that found
    nothing (BatchSubscriber.get_msg), so an idle consumer is deaf half the time: a record arriving
    then waits up to that long, at every hop of a referral. Its poll is replaced by one that only
    waits in the consumer, which wakes the moment a record is fetched."""
    max_records = subscriber.max_records

    async def get_msg(consumer: Any) -> tuple[ConsumerRecord, ...]:
        found = await consumer.getmany(timeout_ms=BATCH_TIMEOUT_MS, max_records=max_records)
        return tuple(chain.from_iterable(found.values()))

    if not hasattr(subscriber, "get_msg"):
        raise TypeError(f"{type(subscriber).__name__} has no get_msg: FastStream's batch subscriber changed")
    subscriber.get_msg = get_msg


async def _undecoded(_message: Any) -> None:
    """The batch is decoded record by record in BatchRunner, so one bad record spoils nothing."""
    return None


class _Retry(Exception):
    """The batch is to be read again: `failure` is re-raised after the backoff (never escapes)."""

    def __init__(self, failure: Exception, *, kind: FailureKind, record: ConsumerRecord, where: str,
                 attempts: int = 0) -> None:
        super().__init__(str(failure))
        self.failure, self.kind, self.record, self.where = failure, kind, record, where
        self.attempts = attempts  # the record's failed attempts so far (an outage counts none)


class BatchRunner(Generic[Model]):
    def __init__(self, *, desk: DeadLetterDesk, broker: Any, group: str, model: type[Model], handle: Handle,
                 on_tombstone: Callable[[ConsumerRecord], Any] | None = None) -> None:
        self._desk, self._broker, self._group = desk, broker, group
        self._model, self._handle, self._on_tombstone = model, handle, on_tombstone
        self._outages = 0  # consecutive batches failed by an unanswering dependency, for the backoff
        self._attempts = FailureCounts()  # failed attempts per record position, against the bound
        self._retrying: set[str] = set()  # topics whose gauge says the group is retrying
        # Records already dead-lettered, so a batch re-read after a retry does not send them a
        # second time (bounded: only the latest batches can come back).
        self._dead: OrderedDict[Position, None] = OrderedDict()

    async def run(self, records: Sequence[ConsumerRecord]) -> None:
        self._desk.batch_records.labels(self._desk.service, self._group).observe(len(records))
        decoded: list[tuple[ConsumerRecord, Model]] = []
        unreadable: list[tuple[ConsumerRecord, BaseException]] = []
        for record in records:
            if _position(record) in self._dead:
                continue
            try:
                if record.value is None and self._on_tombstone is not None:
                    decoded.append((record, self._on_tombstone(record)))
                    continue
                decoded.append((record, self._model.model_validate_json(record.value or b"")))
            except (ValidationError, ValueError) as exc:
                unreadable.append((record, exc))
        try:
            for record, exc in unreadable:  # can never decode: at once, whatever happens to the rest
                self._desk.count_failure(topic=record.topic, group=self._group, exc=exc, kind=FailureKind.PERMANENT)
                await self._dead_letter(record, exc, attempts=1, subject=EVENT)
            await self._apply(decoded)
        except _Retry as retry:
            await self._back_off(retry)
            raise retry.failure from None  # NACK_ON_ERROR re-reads the batch from its first record of each partition
        self._outages = 0
        for topic in self._retrying:
            self._desk.settled(topic=topic, group=self._group)
        self._retrying.clear()
        for record, event in decoded:
            if _position(record) not in self._dead:
                # One line per event with the intake it descends from: an intake can be followed
                # through every service's log, although a batch carries many.
                logger.info("handled %s", getattr(event, "event_type", "event"),
                            extra={"correlation_id": getattr(event, "correlation_id", None),
                                   "event_id": str(getattr(event, "event_id", ""))})

    async def _apply(self, pairs: list[tuple[ConsumerRecord, Model]]) -> None:
        """Apply `pairs`, or raise _Retry at the first record that must be tried again."""
        if not pairs:
            return
        try:
            await self._handle([event for _, event in pairs])
        except Exception as exc:  # noqa: BLE001 - judged by failures.classify
            kind = classify(exc)
            if kind is FailureKind.UNAVAILABLE:  # nothing the records did: all of them again, later
                raise _Retry(exc, kind=kind, record=pairs[0][0], where=_where(pairs)) from exc
            failure = exc
        else:
            for record, _ in pairs:
                self._attempts.forget(_position(record))
            return
        if len(pairs) > 1:
            middle = len(pairs) // 2
            await self._apply(pairs[:middle])  # raises before the second half: it waits behind a retry
            await self._apply(pairs[middle:])
            return
        record = pairs[0][0]
        attempts = self._attempts.add(_position(record))
        self._desk.count_failure(topic=record.topic, group=self._group, exc=failure, kind=kind)
        if not self._desk.retry.exhausted(kind=kind, attempts=attempts):
            raise _Retry(failure, kind=kind, record=record, where=_where(pairs), attempts=attempts) from failure
        logger.warning("record %s fails on its own: %s", _where(pairs), type(failure).__name__, exc_info=failure)
        await self._dead_letter(record, failure, attempts=attempts)

    async def _back_off(self, retry: _Retry) -> None:
        attempt = retry.attempts
        if retry.kind is FailureKind.UNAVAILABLE:
            self._outages += 1
            self._desk.count_failure(topic=retry.record.topic, group=self._group, exc=retry.failure, kind=retry.kind)
            attempt = self._outages
        self._retrying.add(retry.record.topic)
        await self._desk.back_off(topic=retry.record.topic, group=self._group, where=retry.where, attempt=attempt,
                                  exc=retry.failure, kind=retry.kind)

    async def _dead_letter(self, record: ConsumerRecord, exc: BaseException, *, attempts: int,
                           subject: str | None = None) -> None:
        try:
            await self._desk.send(self._broker, record, exc, group=self._group, attempts=attempts, subject=subject)
        except Exception as failed:  # noqa: BLE001 - the record cannot be dropped: retried until its letter goes
            where = _where([(record, None)])
            raise _Retry(failed, kind=FailureKind.UNAVAILABLE, record=record, where=where) from failed
        self._attempts.forget(_position(record))
        self._dead[_position(record)] = None
        while len(self._dead) > _REMEMBERED_DEAD:
            self._dead.popitem(last=False)


def _position(record: ConsumerRecord) -> Position:
    return (record.topic, record.partition, record.offset)


def _where(pairs: list[tuple[ConsumerRecord, Any]]) -> str:
    first = pairs[0][0]
    more = f" and {len(pairs) - 1} more" if len(pairs) > 1 else ""
    return f"{first.topic}[{first.partition}]@{first.offset}{more}"
