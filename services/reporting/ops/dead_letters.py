"""Dead letters as operations see them (where from, which group, why; never the payload), and
their re-drive to the original topic after the cause is fixed.

A re-drive sends the dead letter's original key and bytes back, so the event keeps its
event_id: every consumer of that topic applies it through its inbox, and one whose effect
already happened ignores it. The re-drive row is claimed before the send and committed after
it: a second re-drive of the same dead letter collides on the row and is refused. It is sent by
the ops view's own producer (songtor-ops, ops/redrive_producer.py), never reporting's broker.
"""

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import ConsumerRecord, TopicPartition
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.ops import store
from reporting.ops.broker_reader import BrokerReader
from reporting.ops.models import DeadLetterRedrive
from reporting.ops.redrive_producer import RedriveProducer
from shared.kafka import DeadLetterHeaders
from shared.settings import KafkaSettings
from shared.topics import DEAD_LETTER_SUFFIX, dead_letter_topic

logger = logging.getLogger("songtor.reporting.ops.dlq")
Position = tuple[str, int, int]
# Consumers already keep input values out of the reason (shared.kafka.describe_failure), but a
# database error's text can still quote a row: PostgreSQL's DETAIL line ("Failing row contains
# (...)", "Key (...)=(...)"). Operations see neither that line nor anything shaped like a
# national ID (13 digits), in the reason or in a key a producer chose.
_DETAIL_LINE = re.compile(r"^\s*DETAIL:.*$\n?", re.MULTILINE)
_NATIONAL_ID_SHAPE = re.compile(r"(?<!\d)\d{13}(?!\d)")


class RedriveRefused(Exception):
    def __init__(self, *, status: int, message: str, positions: list[Position]) -> None:
        super().__init__(message)
        self.status, self.message, self.positions = status, message, positions


@dataclass(frozen=True, slots=True)
class Page:
    total: int
    items: list[dict]


class DeadLetters:
    def __init__(
        self, *, reader: BrokerReader, producer: RedriveProducer, kafka: KafkaSettings,
        sessions: async_sessionmaker[AsyncSession],
    ) -> None:
        self._reader, self._producer, self._sessions = reader, producer, sessions
        self.topics = [dead_letter_topic(topic) for topic in kafka.topics.all_event_topics()]

    async def page(self, *, page: int, page_size: int, original_topic: str | None = None) -> Page:
        """Ordered by dead-letter topic, partition and offset; only the slice asked for is read."""
        topics = [t for t in self.topics if original_topic is None or t == dead_letter_topic(original_topic)]
        partitions = [tp for tps in (await self._reader.partitions(topics=topics)).values() for tp in tps]
        starts = await self._reader.start_offsets(partitions=partitions)
        ends = await self._reader.end_offsets(partitions=partitions)
        total = sum(ends[tp] - starts[tp] for tp in partitions)
        skip, room = (page - 1) * page_size, page_size
        positions: dict[TopicPartition, int] = {}
        limits: dict[TopicPartition, int] = {}
        for tp in sorted(partitions):
            held = ends[tp] - starts[tp]
            if skip >= held:
                skip -= held
                continue
            if room <= 0:
                break
            positions[tp], limits[tp] = starts[tp] + skip, min(room, held - skip)
            room, skip = room - limits[tp], 0
        records = await self._reader.read(positions=positions, limits=limits)
        found = [r for tp in sorted(records) for r in records[tp]]
        async with self._sessions() as session:
            redrives = await store.redrives_at(session, positions=[(r.topic, r.partition, r.offset) for r in found])
        items = [describe_dead_letter(r, redrive=redrives.get((r.topic, r.partition, r.offset))) for r in found]
        return Page(total=total, items=items)

    async def redrive(self, *, positions: list[Position], actor: str, reason: str) -> list[dict]:
        unknown = [p for p in positions if p[0] not in self.topics]
        if unknown:
            raise RedriveRefused(status=422, message="not a dead-letter topic of this deployment", positions=unknown)
        async with self._sessions() as session:
            done = await store.redrives_at(session, positions=positions)
        if done:
            raise RedriveRefused(status=409, message="already re-driven", positions=sorted(done))
        if len(set(positions)) < len(positions):
            raise RedriveRefused(status=422, message="a dead letter named twice", positions=sorted(set(positions)))
        found = await self._records_at(positions=positions)
        missing = [p for p in positions if p not in found]
        if missing:
            raise RedriveRefused(status=404, message="no such dead letter", positions=missing)
        return [await self._send_back(found[p], actor=actor, reason=reason) for p in positions]

    async def _records_at(self, *, positions: list[Position]) -> dict[Position, ConsumerRecord]:
        """One read per round, each round asking at most one offset of each partition."""
        rounds: list[dict[TopicPartition, int]] = []
        for topic, partition, offset in positions:
            tp = TopicPartition(topic, partition)
            free = next((r for r in rounds if tp not in r), None)
            if free is None:
                rounds.append(free := {})
            free[tp] = offset
        found: dict[Position, ConsumerRecord] = {}
        for wanted in rounds:
            for tp, records in (await self._reader.read(positions=wanted)).items():
                if records and records[0].offset == wanted[tp]:
                    found[(tp.topic, tp.partition, wanted[tp])] = records[0]
        return found

    async def _send_back(self, record: ConsumerRecord, *, actor: str, reason: str) -> dict:
        position = (record.topic, record.partition, record.offset)
        target = _headers(record).get(DeadLetterHeaders.ORIGINAL_TOPIC, "")
        if target != record.topic.removesuffix(DEAD_LETTER_SUFFIX):
            # Only ever back where it came from: a header naming another topic is not obeyed.
            raise RedriveRefused(status=422, message="its dlq.original_topic is not the topic it came from",
                                 positions=[position])
        at = datetime.now(UTC)
        async with self._sessions() as session:
            store.record_redrive(session, position=position, target_topic=target, actor=actor, reason=reason)
            try:
                await session.flush()
            except IntegrityError as exc:  # another operator's re-drive got there first
                raise RedriveRefused(status=409, message="already re-driven", positions=[position]) from exc
            sent = await self._producer.send(topic=target, value=record.value or b"", key=record.key, headers={
                "redrive.from": f"{record.topic}/{record.partition}/{record.offset}",
                "redrive.actor": actor, "redrive.reason": reason, "redrive.at": at.isoformat(),
            })
            await session.commit()
        logger.info("re-drove %s[%d]@%d to %s", *position, target, extra={"actor": actor})
        return {"dlq_topic": record.topic, "partition": record.partition, "offset": record.offset,
                "target_topic": target, "target_partition": sent.partition, "target_offset": sent.offset,
                "redriven_at": at.isoformat()}


def _headers(record: ConsumerRecord) -> dict[str, str]:
    return {key: value.decode("utf-8", "replace") for key, value in (record.headers or ())}


def describe_dead_letter(record: ConsumerRecord, *, redrive: DeadLetterRedrive | None) -> dict:
    """Where it came from and why; the payload itself (a person's data) is never shown."""
    headers = _headers(record)
    number = lambda name: int(headers[name]) if headers.get(name, "").isdigit() else None  # noqa: E731
    return {
        "dlq_topic": record.topic, "partition": record.partition, "offset": record.offset,
        "dead_lettered_at": datetime.fromtimestamp(record.timestamp / 1000, UTC).isoformat(),
        "key": without_personal_data(record.key.decode("utf-8", "replace")[:100]) if record.key else None,
        "size_bytes": len(record.value or b""),
        "original_topic": headers.get(DeadLetterHeaders.ORIGINAL_TOPIC),
        "original_partition": number(DeadLetterHeaders.ORIGINAL_PARTITION),
        "original_offset": number(DeadLetterHeaders.ORIGINAL_OFFSET),
        "consumer_group": headers.get(DeadLetterHeaders.CONSUMER_GROUP),
        "service": headers.get(DeadLetterHeaders.SERVICE),
        "exception_class": headers.get(DeadLetterHeaders.EXCEPTION_CLASS),
        "reason": without_personal_data(headers.get(DeadLetterHeaders.EXCEPTION_MESSAGE)),
        # Dead letters written before the header existed have none: None, not a guess.
        "attempts": number(DeadLetterHeaders.ATTEMPTS),
        "redrive": None if redrive is None else {
            "actor": redrive.actor, "reason": redrive.reason, "target_topic": redrive.target_topic,
            "at": redrive.redriven_at.isoformat(),
        },
    }


def without_personal_data(text: str | None) -> str | None:
    if text is None:
        return None
    return _NATIONAL_ID_SHAPE.sub("x" * 13, _DETAIL_LINE.sub("", text)).strip()
