"""Purges that enforce the retention periods (docs/retention.md): each rule names a table, the
column that says how old a row is, the period after which its rows go, and whether they go whole
(DELETE) or only lose their personal columns (an UPDATE that replaces whole column values, so it
does not depend on what those columns hold: clear JSON today, an encrypted blob tomorrow).

A rule works in chunks of a bounded number of rows: the keys of a chunk are read first, with no
lock held (on SQLite a reader does not block the writer in WAL mode), then deleted or updated by
key in a short transaction of their own, queued behind the process's other writers (write_gate).
A first run over a table of millions therefore never holds SQLite's one write lock for long, and
the consumers' batches take their turns between chunks. The write re-checks the rule's condition,
so a row that changed between the read and the write (another process purged it) is left alone.

Time comes from a clock the caller passes (`now`), so tests move it instead of waiting.
"""

import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import ColumnElement, Table, and_, delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db.engine import write_gate

logger = logging.getLogger("songtor.retention")

DEFAULT_CHUNK_ROWS = 1000
# A rule whose UPDATE did not take its rows out of its own condition would find them again at
# every chunk; this bounds such a mistake to a run instead of a loop for ever.
_MAX_CHUNKS_PER_RUN = 10_000


def utc_now() -> datetime:
    return datetime.now(UTC)


class Purge(Protocol):
    """One thing a retention run purges: a table's rule, or files (intake's uploaded sheets)."""

    name: str

    async def purge(self, engine: AsyncEngine, *, now: datetime, chunk_rows: int) -> int:
        """Purge what is due at `now`; returns how many rows (or files) went."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionRule:
    """Rows of `table` whose `age` is older than `max_age` (and that match `where`) are deleted,
    or, with `scrub`, have those columns set to those values.

    `age` is a column of `table`, or a correlated scalar subquery when a row's age is its
    parent's (an error line is as old as its job's end). A scrub rule's `where` must exclude the
    rows it already scrubbed, or each run would count them again. `personal` rules overwrite
    what they delete on SQLite (secure_delete), so the bytes do not linger in free pages."""

    name: str
    table: Table
    age: ColumnElement[datetime]
    max_age: timedelta
    where: ColumnElement[bool] | None = None
    scrub: Mapping[str, Any] | None = None
    personal: bool = True

    def __post_init__(self) -> None:
        if self.max_age <= timedelta(0):
            raise ValueError(f"retention rule {self.name}: max_age must be positive")
        if not self.table.primary_key.columns:
            raise ValueError(f"retention rule {self.name}: table {self.table.name} has no primary key to chunk by")

    def due(self, *, cutoff: datetime) -> ColumnElement[bool]:
        condition = self.age < cutoff
        return condition if self.where is None else and_(condition, self.where)

    async def purge(self, engine: AsyncEngine, *, now: datetime, chunk_rows: int) -> int:
        cutoff = now.astimezone(UTC) - self.max_age
        keys = list(self.table.primary_key.columns)
        purged = 0
        for _ in range(_MAX_CHUNKS_PER_RUN):
            async with engine.connect() as connection:
                chosen = (await connection.execute(
                    select(*keys).where(self.due(cutoff=cutoff)).limit(chunk_rows))).all()
            if not chosen:
                return purged
            purged += await self._write(engine, chosen=[tuple(row) for row in chosen], cutoff=cutoff)
            if len(chosen) < chunk_rows:
                return purged
        logger.warning("retention rule %s still had rows after %d chunks; the next run goes on", self.name,
                       _MAX_CHUNKS_PER_RUN)
        return purged

    async def _write(self, engine: AsyncEngine, *, chosen: list[tuple], cutoff: datetime) -> int:
        keys = list(self.table.primary_key.columns)
        by_key = keys[0].in_([row[0] for row in chosen]) if len(keys) == 1 else tuple_(*keys).in_(chosen)
        condition = and_(by_key, self.due(cutoff=cutoff))
        statement = (delete(self.table).where(condition) if self.scrub is None
                     else update(self.table).where(condition).values(**self.scrub))
        async with write_gate(engine), engine.connect() as connection:
            async with _secure_delete(connection, on=self.personal):
                result = await connection.execute(statement)
                await connection.commit()
        return max(result.rowcount or 0, 0)


@asynccontextmanager
async def _secure_delete(connection: AsyncConnection, *, on: bool) -> AsyncIterator[None]:
    """SQLite leaves deleted and overwritten bytes in free pages and cells until they are reused;
    with secure_delete it writes zeros over them. Only for the purge's own transaction: the
    connection goes back to the pool as it came. (The WAL file keeps earlier page images until a
    checkpoint reuses it, docs/retention.md.) PostgreSQL keeps dead rows until VACUUM."""
    if not (on and connection.dialect.name == "sqlite"):
        yield
        return
    before = int((await connection.exec_driver_sql("PRAGMA secure_delete")).scalar() or 0)
    await connection.exec_driver_sql("PRAGMA secure_delete=1")
    try:
        yield
    finally:
        await connection.exec_driver_sql(f"PRAGMA secure_delete={before}")


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.purged = Counter("songtor_retention_purged_rows_total", "Rows (or files) a retention rule deleted or "
                              "cleared of personal data (docs/retention.md).", ["rule"], registry=registry)
        self.last_run = Gauge("songtor_retention_last_run_timestamp_seconds", "When the retention purge last "
                              "finished every rule; stale while it fails.", registry=registry)


class Purger:
    """Runs every purge of a service, in order (a rule that must go first, such as a job's error
    lines before the job, comes first), counts what each purged, and logs one line per run with
    the counts: rule names and numbers, never a row's content."""

    def __init__(
        self, *, engine: AsyncEngine, purges: Sequence[Purge], registry: CollectorRegistry | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS, clock: Callable[[], datetime] = utc_now, service: str = "",
    ) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        names = [purge.name for purge in purges]
        if len(set(names)) != len(names):
            raise ValueError(f"retention rules must have distinct names: {names}")
        self._engine, self.purges, self._chunk_rows = engine, list(purges), chunk_rows
        self._clock, self._service = clock, service
        self._metrics = _Metrics(registry) if registry is not None else None
        for name in names if self._metrics is not None else ():
            self._metrics.purged.labels(name)  # each rule's series exists at 0 from the start, for rate() and alerts

    async def run_once(self, *, now: datetime | None = None) -> dict[str, int]:
        """One run of every purge at `now` (the clock's time by default); returns the counts.
        A failing purge stops the run (the rules after it may depend on it, e.g. a job after its
        error lines); the next run starts again from the first."""
        at = now or self._clock()
        started, counts = time.monotonic(), {}
        for purge in self.purges:
            counts[purge.name] = count = await purge.purge(self._engine, now=at, chunk_rows=self._chunk_rows)
            if self._metrics is not None and count:
                self._metrics.purged.labels(purge.name).inc(count)
        if self._metrics is not None:
            self._metrics.last_run.set_to_current_time()
        logger.info("retention purge of %s in %.1f s: %s", self._service or "this service", time.monotonic() - started,
                    ", ".join(f"{name}={count}" for name, count in counts.items()) or "no rules")
        return counts
