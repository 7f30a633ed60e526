"""The transactional outbox: an event is written in the same transaction as the state change
that caused it, then published. A crash between the two cannot lose the event: the relay
publishes whatever is still pending at start-up and whenever it is woken.

The relay runs as one background loop per process. Writers commit their rows and call
`wake()`, which returns at once; the loop then publishes every pending row in batches: each
batch is handed to the producer whole (its linger and compression make a few requests of it),
acknowledged together, and marked published in one UPDATE. Several relays on one database share
the rows in per-key order (relay_turn.py says how).

A row the broker refuses (its topic is missing, not ours to write, the message is too large...)
is not retried in a loop: it counts an attempt, keeps its last error, and waits an exponential
back-off (`next_attempt_at`) while the other rows go on. Rows behind it with the same topic and
key wait too, since they may not overtake it. (A refusal that comes only in the broker's answer,
e.g. no Write ACL, is known after the batch was handed over: the later rows of that key in the
same batch were sent too, and are refused alike; one that succeeded would have overtaken it.)
`songtor_outbox_publish_failures_total` and
`songtor_outbox_rows_retrying` show such rows; the log names each one and its error.
"""

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import Index, case, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Field, SQLModel

from shared.contracts import EventEnvelope
from shared.db.relay_turn import ClaimedRow, Failure, RelayTurn
from shared.db.staged import stage
from shared.kafka.producer_metadata import track_topics

logger = logging.getLogger("songtor.outbox")

_PENDING = text("published_at IS NULL")


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_messages"
    # Partial indexes: only pending rows are looked for, and they are few beside the published ones.
    __table_args__ = (
        Index("ix_outbox_pending", "id", postgresql_where=_PENDING, sqlite_where=_PENDING),
        Index("ix_outbox_pending_key", "key", "id", postgresql_where=_PENDING, sqlite_where=_PENDING),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=36)
    topic: str = Field(max_length=200)
    key: str = Field(max_length=100)
    payload: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    published_at: datetime | None = Field(default=None)
    attempts: int = Field(default=0, description="Failed publishes of this row so far.")
    last_error: str | None = Field(default=None, max_length=500)
    next_attempt_at: datetime | None = Field(default=None, description="Set after a failure: not tried before.")


# The payload of a tombstone: published as a record with no value, which a compacted topic keeps only
# until compaction deletes it and every earlier record of its key (person.keys, on an erasure).
TOMBSTONE = ""


def add_tombstone(session, *, topic: str, key: str, event_id: str) -> None:  # noqa: ANN001
    """Publish a tombstone of `key` on the compacted `topic` once the transaction commits, in order
    with the transaction's other outbox rows (`event_id` only names the row)."""
    stage(session, OutboxMessage, {"event_id": event_id, "topic": topic, "key": key, "payload": TOMBSTONE})


def add_to_outbox(session, *, topic: str, key: str, event: EventEnvelope) -> None:  # noqa: ANN001
    """Publish `event` once the session's transaction commits; written at that commit with the
    transaction's other outbox rows in one statement (staged.py), in the order they were added."""
    stage(session, OutboxMessage, {"event_id": str(event.event_id), "topic": topic, "key": key,
                                   "payload": event.model_dump_json()})


class BrokerUnavailable(RuntimeError):
    """Nothing of a batch was delivered and the broker does not answer: an outage, not the rows' fault."""


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.failures = Counter("songtor_outbox_publish_failures_total", "Outbox rows the broker refused or did "
                                "not acknowledge; each waits a back-off and is tried again.",
                                ["topic", "exception_class"], registry=registry)
        self.pending = Gauge("songtor_outbox_rows_pending", "Outbox rows not yet published.", registry=registry)
        self.retrying = Gauge("songtor_outbox_rows_retrying", "Pending outbox rows that failed at least once (their "
                              "key's later rows wait behind them).", registry=registry)


class OutboxRelay:
    """Publishes pending outbox rows, per (topic, key) in the order they were written."""

    def __init__(
        self, *, engine: AsyncEngine, broker: KafkaBroker, batch_size: int = 500,
        registry: CollectorRegistry | None = None, enqueue_timeout: float = 5.0,
        first_retry: timedelta = timedelta(seconds=1), last_retry: timedelta = timedelta(minutes=5),
    ) -> None:
        self._engine, self._broker, self._batch_size = engine, broker, batch_size
        self._turn = RelayTurn(engine=engine, table=OutboxMessage.__table__)
        # A send waits for its topic's metadata, for up to the producer's request timeout (40 s)
        # when the topic is missing: bounded here so that one such row cannot hold a batch long.
        self._enqueue_timeout = enqueue_timeout
        if first_retry <= timedelta(0):
            raise ValueError("first_retry must be positive: a refused row would otherwise be retried in a loop")
        self._first_retry, self._last_retry = first_retry, last_retry
        self._wakeup = asyncio.Event()
        self._metrics = _Metrics(registry) if registry is not None else None

    def wake(self) -> None:
        """Ask the loop (run) to publish what is pending; returns at once. Call after the commit."""
        self._wakeup.set()

    async def run(self, *, interval: float = 1.0) -> None:
        """Background loop: publishes at start, whenever woken, and every `interval` seconds as a
        safety net (rows written by another process, rows whose back-off ended, a broker back)."""
        self._wakeup.set()
        counted_at = 0.0
        while True:
            try:
                await asyncio.wait_for(self._wakeup.wait(), interval)
            except TimeoutError:
                pass
            self._wakeup.clear()  # a wake during the drain below makes the next one start at once
            try:
                while (done := await self._round()).progressed and done.claimed == self._batch_size:
                    pass
                if self._metrics is not None and time.monotonic() - counted_at >= 5 * interval:
                    await self._count_rows()
                    counted_at = time.monotonic()
            except Exception:  # noqa: BLE001 - the loop must survive a broker or DB outage
                logger.warning("outbox relay round failed; will retry", exc_info=True)

    async def flush(self) -> int:
        """Publish every pending row now (for tests and tools); returns how many this relay
        published. Waits for rows another relay holds; leaves rows that wait out a back-off."""
        published = 0
        while True:
            done = await self._round()
            published += done.published
            if done.progressed:
                continue
            if not await self._turn.any_waiting(now=datetime.now(UTC)):
                return published
            await asyncio.sleep(0.02)  # another relay is publishing rows this one held back

    async def pending(self) -> int:
        async with self._engine.connect() as connection:
            t = OutboxMessage.__table__
            return (await connection.execute(select(func.count()).where(t.c.published_at.is_(None)))).scalar_one()

    async def _round(self) -> "_Round":
        async with self._turn.claim(limit=self._batch_size, now=datetime.now(UTC)) as claim:
            if not claim.rows:
                return _Round(claimed=claim.size)
            sent, refused = await self._publish(claim.rows)
            if refused and not sent and not await self._broker_answers():
                raise BrokerUnavailable(f"{len(refused)} outbox rows not delivered and the broker does not answer")
            now = datetime.now(UTC)
            failures = [self._failure(row, error, now=now) for row, error in refused]
            await claim.settle(published=sent, failures=failures, at=now)
        return _Round(claimed=claim.size, published=len(sent), failed=len(failures))

    async def _publish(self, rows: list[ClaimedRow]) -> tuple[list[int], list[tuple[ClaimedRow, Exception]]]:
        """Hand every row to the producer, then wait for the acknowledgements together. Topics go
        side by side, so that one whose metadata does not come delays only its own rows."""
        by_topic: dict[str, list[ClaimedRow]] = defaultdict(list)
        for row in rows:
            by_topic[row.topic].append(row)
        track_topics(self._broker, set(by_topic))
        sent: list[int] = []
        refused: list[tuple[ClaimedRow, Exception]] = []
        for topic_sent, topic_refused in await asyncio.gather(*(self._publish_topic(r) for r in by_topic.values())):
            sent += topic_sent
            refused += topic_refused
        return sent, refused

    async def _publish_topic(self, rows: list[ClaimedRow]) -> tuple[list[int], list[tuple[ClaimedRow, Exception]]]:
        refused: list[tuple[ClaimedRow, Exception]] = []
        stuck_keys: set[str] = set()
        enqueued: list[tuple[ClaimedRow, object]] = []
        for row in rows:
            if row.key in stuck_keys:
                continue  # an older row of its key was refused just now: it waits behind it, untried
            try:
                # Not awaited for its ack: the producer keeps per-partition order across the batch.
                async with asyncio.timeout(self._enqueue_timeout):
                    future = await self._broker.publish(
                        None if row.payload == TOMBSTONE else row.payload.encode(), row.topic, key=row.key.encode(),
                        headers={"content-type": "application/json"}, no_confirm=True,
                    )
            except Exception as exc:  # noqa: BLE001 - the row's own failure; the batch goes on
                refused.append((row, exc))
                stuck_keys.add(row.key)
                continue
            enqueued.append((row, future))
        # FastStream's test broker hands the message over at once and returns no future.
        acks = await asyncio.gather(*(f for _, f in enqueued if f is not None), return_exceptions=True)
        results = iter(acks)
        sent: list[int] = []
        for row, future in enqueued:
            outcome = None if future is None else next(results)
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome  # cancelled: the process is stopping; nothing is marked
            if isinstance(outcome, Exception):
                refused.append((row, outcome))
            else:
                sent.append(row.id)
        return sent, refused

    async def _broker_answers(self) -> bool:
        ping = getattr(self._broker, "ping", None)
        return ping is None or await ping(timeout=5.0)

    def _failure(self, row: ClaimedRow, error: Exception, *, now: datetime) -> Failure:
        attempts = row.attempts + 1
        wait = min(self._first_retry * 2 ** (attempts - 1), self._last_retry)
        reason = f"{type(error).__name__}: {error}"[:500]
        logger.warning(
            "outbox row %d (event %s, topic %s) not published, attempt %d: %s; next try in %ds, later rows of "
            "its key wait behind it", row.id, row.event_id, row.topic, attempts, reason, wait.total_seconds(),
        )
        if self._metrics is not None:
            self._metrics.failures.labels(row.topic, type(error).__name__).inc()
        return Failure(id=row.id, attempts=attempts, error=reason, retry_at=now + wait)

    async def _count_rows(self) -> None:
        t = OutboxMessage.__table__
        async with self._engine.connect() as connection:
            pending, retrying = (await connection.execute(
                # Retrying: failed at least once (a row held back on purpose, an erasure's second
                # tombstone, has a next_attempt_at without having failed).
                select(func.count(), func.count(case((t.c.attempts > 0, 1)))).where(t.c.published_at.is_(None))
            )).one()
        assert self._metrics is not None
        self._metrics.pending.set(pending)
        self._metrics.retrying.set(retrying)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Round:
    claimed: int
    published: int = 0
    failed: int = 0

    @property
    def progressed(self) -> bool:
        return bool(self.published or self.failed)
