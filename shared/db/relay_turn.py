"""How several outbox relays on one database share the rows, in order, without one global lock.

Several processes may share one database (the agency adapters run one process per agency), and
each runs a relay. Two rules must hold between them: a row is published by one relay at a time
(a row may still be published twice, by a relay that died between publishing and marking; the
consumers' inbox makes that harmless), and the rows of one (topic, key) reach Kafka in the order
they were written, since a key's history is read in order from its partition downstream.
(Order between topics means nothing: each topic is read by its own consumers.)

A relay takes a *claim*: the oldest pending rows that are due, up to a batch.

- **PostgreSQL**: `SELECT ... ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED`, kept locked until the
  batch is marked published in the same transaction. A second relay skips the locked rows and
  claims the next ones, so the relays publish side by side. A crashed relay's locks end with its
  connection, and its rows are claimed again.
- **SQLite** has one writer at a time anyway, and its only lock is its write lock, which must not
  be held while Kafka answers (it would stop every intake): a file lock beside the database lets
  one relay at a time claim, publish and mark; the claim is read in one short transaction and
  the marks are written in another, and the publish in between holds no database lock.

Order with SKIP LOCKED: the claim may contain a row whose (topic, key) has an *older* pending row
outside the claim: locked by another relay that is publishing it right now, or waiting out its
back-off after a failed publish (outbox.py). Publishing the newer row would overtake the older
one, so the claim holds it back: a row is published only when no older pending row of its
(topic, key) exists outside the claim. That check is a plain read after the locking one; it sees
what other relays have committed. An older row it does not see as pending was committed as
published, i.e. after its publish had been acknowledged, so order holds. Of two relays whose
claims interleave on one key, the one holding the older row goes first; the other holds back
and takes the rest on its next round. The relay that holds the oldest due row always makes
progress, so nothing waits for ever.

Not covered (nor before): two *writers* committing rows of one key at the same moment may commit
them in the opposite order to the ids they drew; their order is not defined in the first place.
"""

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db.engine import write_gate

_POLL_SECONDS = 0.01


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    id: int
    topic: str
    key: str
    payload: str
    event_id: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Failure:
    """A row the producer refused or could not deliver; it waits until `retry_at`."""

    id: int
    attempts: int
    error: str
    retry_at: datetime


@dataclass
class Claim:
    rows: list[ClaimedRow]  # to publish, oldest first
    held: int  # claimed, but an older row of their (topic, key) is pending outside the claim
    _settle: "_Settle" = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.rows) + self.held

    async def settle(self, *, published: Sequence[int], failures: Sequence[Failure], at: datetime) -> None:
        """Mark `published` in one statement and record `failures`, before the claim ends."""
        await self._settle(published, failures, at)


class _Settle:
    def __init__(self, table: Table, connection: AsyncConnection | None, engine: AsyncEngine) -> None:
        self._table, self._connection, self._engine = table, connection, engine

    async def __call__(self, published: Sequence[int], failures: Sequence[Failure], at: datetime) -> None:
        if self._connection is not None:  # PostgreSQL: inside the claim's transaction, committed at its end
            await _write_marks(self._connection, self._table, published, failures, at)
            return
        async with write_gate(self._engine), self._engine.begin() as connection:  # SQLite: a short write transaction
            await _write_marks(connection, self._table, published, failures, at)


async def _write_marks(connection: AsyncConnection, table: Table, published: Sequence[int],
                       failures: Sequence[Failure], at: datetime) -> None:
    if published:
        await connection.execute(update(table).where(table.c.id.in_(list(published))).values(published_at=at))
    if failures:  # rare, and each has its own values: one executemany
        await connection.execute(
            update(table).where(table.c.id == bindparam("row_id")).values(
                attempts=bindparam("row_attempts"), last_error=bindparam("row_error"),
                next_attempt_at=bindparam("row_retry_at"),
            ),
            [{"row_id": f.id, "row_attempts": f.attempts, "row_error": f.error, "row_retry_at": f.retry_at}
             for f in failures],
        )


class RelayTurn:
    def __init__(self, *, engine: AsyncEngine, table: Table) -> None:
        self._engine, self._table = engine, table
        self._dialect = engine.dialect.name
        database = engine.url.database
        # SQLite is shared by processes of one host only, so a file beside it reaches them all.
        self._lock_path = (
            Path(f"{database}-outbox-relay.lock")
            if self._dialect == "sqlite" and database and database != ":memory:"
            else None
        )

    @contextlib.asynccontextmanager
    async def claim(self, *, limit: int, now: datetime) -> AsyncIterator[Claim]:
        """The next batch this relay may publish; call `settle` before leaving. Leaving with an
        exception marks nothing: the rows are claimed again later."""
        if self._dialect == "postgresql":
            async with self._engine.connect() as connection, connection.begin():
                rows, held = await self._read_claim(connection, limit=limit, now=now, lock=True)
                yield Claim(rows=rows, held=held, _settle=_Settle(self._table, connection, self._engine))
            return
        async with self._file_lock():
            async with self._engine.connect() as connection:
                rows, held = await self._read_claim(connection, limit=limit, now=now, lock=False)
                await connection.rollback()  # read only; ends the read before anything is published
            yield Claim(rows=rows, held=held, _settle=_Settle(self._table, None, self._engine))

    async def _read_claim(self, connection: AsyncConnection, *, limit: int, now: datetime,
                          lock: bool) -> tuple[list[ClaimedRow], int]:
        t = self._table
        query = (
            select(t.c.id, t.c.topic, t.c.key, t.c.payload, t.c.event_id, t.c.attempts)
            .where(t.c.published_at.is_(None), or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now))
            .order_by(t.c.id)
            .limit(limit)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        claimed = [ClaimedRow(*row) for row in (await connection.execute(query)).all()]
        if not claimed:
            return [], 0
        ids = {row.id for row in claimed}
        # Every pending row of these keys older than the claim's newest, claimed or not.
        older = await connection.execute(
            select(t.c.id, t.c.topic, t.c.key).where(
                and_(t.c.published_at.is_(None), t.c.key.in_({row.key for row in claimed}),
                     t.c.id < max(ids))
            )
        )
        first_outside: dict[tuple[str, str], int] = {}
        for row_id, topic, key in older.all():
            if row_id not in ids and row_id < first_outside.get((topic, key), row_id + 1):
                first_outside[(topic, key)] = row_id
        free = [row for row in claimed if row.id < first_outside.get((row.topic, row.key), row.id + 1)]
        return free, len(claimed) - len(free)

    async def any_waiting(self, *, now: datetime) -> bool:
        """Whether a pending row is due and not behind a backed-off row of its (topic, key): a row
        some relay will publish now (this one, or another that holds it)."""
        t = self._table
        behind = t.alias("behind")
        stuck = (
            select(behind.c.id)
            .where(behind.c.published_at.is_(None), behind.c.topic == t.c.topic, behind.c.key == t.c.key,
                   behind.c.id < t.c.id, behind.c.next_attempt_at > now)
            .exists()
        )
        query = select(t.c.id).where(
            t.c.published_at.is_(None), or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now), ~stuck,
        ).limit(1)
        async with self._engine.connect() as connection:
            return (await connection.execute(query)).first() is not None

    @contextlib.asynccontextmanager
    async def _file_lock(self) -> AsyncIterator[None]:
        if self._lock_path is None:
            yield
            return
        descriptor = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            # Polled rather than waited for in a thread: a cancelled wait must not leave a lock behind.
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(_POLL_SECONDS)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock
