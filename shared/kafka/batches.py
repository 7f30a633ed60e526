"""Batched consumers: every consumer of the services reads records in batches, applies a whole
batch in one database transaction and commits its offsets once, after that transaction.

What a batch promises, whatever fails:

- **Nothing skipped.** Offsets are committed only after the batch's effect is durable (FastStream's
  `NACK_ON_ERROR`; its default would commit first). A failure that is not the records' fault (the
  database or the broker unreachable) backs off and re-reads the whole batch: FastStream 0.7.8's
  `nack()` seeks every partition of the batch back to its earliest record (a batch spans
  partitions; older versions rewound only the first record's). Records applied before the
  failure are not applied twice: their ids are in the inbox.
- **Poison goes alone.** A record that does not decode into its contract is dead-lettered with
  the dlq.* headers (dead_letter.py), and the rest of the batch is applied. An effect that fails
  on one record fails its whole transaction, so the batch is split in halves and each half
  applied on its own, down to the one record that fails; that record is dead-lettered and every
  good record around it is applied once.
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
from shared.kafka.dead_letter import CONFLICT_ERRORS, DeadLetterDesk, is_transient

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
_MAX_CONFLICT_ATTEMPTS = 5
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


class BatchRunner(Generic[Model]):
    def __init__(self, *, desk: DeadLetterDesk, broker: Any, group: str, model: type[Model], handle: Handle,
                 on_tombstone: Callable[[ConsumerRecord], Any] | None = None) -> None:
        self._desk, self._broker, self._group = desk, broker, group
        self._model, self._handle, self._on_tombstone = model, handle, on_tombstone
        self._failures = 0  # consecutive transient failures, for the backoff
        # Records already dead-lettered, so a batch re-read after a transient failure does not
        # send them a second time (bounded: only the latest batches can come back).
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
        await self._apply(decoded)
        for record, exc in unreadable:
            await self._dead_letter(record, exc, subject=EVENT)
        self._failures = 0
        for record, event in decoded:
            if _position(record) not in self._dead:
                # One line per event with the intake it descends from: an intake can be followed
                # through every service's log, although a batch carries many.
                logger.info("handled %s", getattr(event, "event_type", "event"),
                            extra={"correlation_id": getattr(event, "correlation_id", None),
                                   "event_id": str(getattr(event, "event_id", ""))})

    async def _apply(self, pairs: list[tuple[ConsumerRecord, Model]], *, conflicts: int = 0) -> None:
        if not pairs:
            return
        try:
            await self._handle([event for _, event in pairs])
            return
        except Exception as exc:  # noqa: BLE001 - judged below: transient, conflict or poison
            if is_transient(exc):
                self._failures += 1
                await self._desk.back_off(topic=pairs[0][0].topic, where=_where(pairs), attempt=self._failures, exc=exc)
                raise  # NACK_ON_ERROR re-reads the batch from its first record of each partition
            failure = exc
        if len(pairs) > 1:
            middle = len(pairs) // 2
            await self._apply(pairs[:middle])
            await self._apply(pairs[middle:])
            return
        record = pairs[0][0]
        # A unique-key collision is usually a race with another writer of the same row and goes
        # away on retry; one that persists is a real conflict in the record.
        if isinstance(failure, CONFLICT_ERRORS) and conflicts < _MAX_CONFLICT_ATTEMPTS:
            await self._desk.back_off(topic=record.topic, where=_where(pairs), attempt=conflicts + 1, exc=failure)
            await self._apply(pairs, conflicts=conflicts + 1)
            return
        logger.warning("record %s fails on its own: %s", _where(pairs), type(failure).__name__, exc_info=failure)
        await self._dead_letter(record, failure)

    async def _dead_letter(self, record: ConsumerRecord, exc: BaseException, *, subject: str | None = None) -> None:
        await self._desk.send(self._broker, record, exc, group=self._group, subject=subject)
        self._dead[_position(record)] = None
        while len(self._dead) > _REMEMBERED_DEAD:
            self._dead.popitem(last=False)


def _position(record: ConsumerRecord) -> Position:
    return (record.topic, record.partition, record.offset)


def _where(pairs: list[tuple[ConsumerRecord, Any]]) -> str:
    first = pairs[0][0]
    more = f" and {len(pairs) - 1} more" if len(pairs) > 1 else ""
    return f"{first.topic}[{first.partition}]@{first.offset}{more}"
