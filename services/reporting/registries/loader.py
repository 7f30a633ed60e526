"""Importing a registry file: streamed, checked row by row, hashed, bulk-inserted.

The import row and all its members are written in one transaction, so a lookup never sees half
a snapshot and a failure (a broken file halfway, a lost connection) leaves nothing behind.
Rows are inserted through the driver itself, in large batches: executemany on SQLite, COPY on
PostgreSQL; going through the ORM would cost more than everything else put together.

The parsing loop is CPU-bound and runs on the caller's event loop: run it from a command or a
worker, not inside a request of a service that must keep consuming.
"""

import hashlib
import hmac
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from reporting.registries.files import RegistryFileError, RejectsFile, open_registry
from reporting.registries.models import MEMBER_COLUMNS, RegistryImport, RegistryKind, RegistryMember, utc_now
from reporting.registries.rows import Member, row_checker
from shared.ids import person_ref

logger = logging.getLogger(__name__)
BATCH_ROWS = 20_000
# A file with more bad rows than this is more likely a wrong export (names where codes belong,
# a shifted column) than a registry with typos; taking its good rows as the full snapshot would
# take everyone else off the registry.
MAX_REJECTED_SHARE = 0.2
SQLITE_CACHE_KIB = 64 * 1024
BANGKOK = ZoneInfo("Asia/Bangkok")
_IMPORTS = RegistryImport.__table__
_MEMBERS = RegistryMember.__table__


@dataclass(frozen=True, slots=True)
class ImportResult:
    import_id: int
    kind: str
    effective_date: date
    imported_at: datetime
    rows_accepted: int
    rows_rejected: int
    seconds: float
    rejects_path: Path | None  # None when no row was rejected
    rejected_by_reason: dict[str, int] = field(default_factory=dict)  # reason code -> rows, most first


async def import_registry(
    engine: AsyncEngine,
    *,
    kind: RegistryKind | str,
    effective_date: date,
    path: Path,
    person_ref_key: str,
    rejects_path: Path | None = None,
    file_name: str | None = None,
    max_rejected_share: float = MAX_REJECTED_SHARE,
    today: date | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportResult:
    """Import `path` as the `kind` registry as of `effective_date`. Raises RegistryFileError,
    storing nothing, when the file cannot be read, lacks a column, or has no acceptable row or
    more than `max_rejected_share` of its rows rejected (the rejects file is written anyway)."""
    kind = RegistryKind(kind)
    _check_effective_date(effective_date, today=today or datetime.now(BANGKOK).date())
    started = time.perf_counter()
    rejects = RejectsFile(rejects_path)
    reasons: Counter[str] = Counter()
    accepted = rejected = 0
    imported_at = utc_now()
    try:
        with open_registry(path, household_required=kind is RegistryKind.TPMAP) as (layout, rows):
            check = row_checker(layout=layout, hash_id=person_ref_hasher(key=person_ref_key))
            async with engine.begin() as connection:
                import_id = await _start_import(connection, kind=kind, effective_date=effective_date,
                                                imported_at=imported_at, file_name=file_name or path.name)
                write = await _member_writer(connection, import_id=import_id)
                batch: list[Member] = []
                async with write as sink:
                    for number, cells in rows:
                        checked = check(cells, number)
                        if type(checked) is tuple:
                            batch.append(checked)
                            if len(batch) >= batch_rows:
                                await sink(batch)
                                accepted += len(batch)
                                batch = []
                        elif any(cell.strip() for cell in cells):  # blank lines are no rows
                            rejected += 1
                            rejects.add(checked)
                            reasons.update({r.code for r in checked})
                    if batch:
                        await sink(batch)
                        accepted += len(batch)
                _check_rejected_share(accepted=accepted, rejected=rejected, most=max_rejected_share)
                await connection.execute(update(_IMPORTS).where(_IMPORTS.c.id == import_id)
                                         .values(rows_accepted=accepted, rows_rejected=rejected))
    finally:
        rejects.close()
    seconds = time.perf_counter() - started
    # Counts and reasons only: a reason never quotes a national ID, and the file name is not logged.
    logger.info("registry import %s (%s as of %s): %d accepted, %d rejected in %.1f s",
                import_id, kind.value, effective_date.isoformat(), accepted, rejected, seconds)
    return ImportResult(import_id=import_id, kind=kind.value, effective_date=effective_date,
                        imported_at=imported_at, rows_accepted=accepted, rows_rejected=rejected,
                        seconds=seconds, rejects_path=rejects.path if rejects.written else None,
                        rejected_by_reason=dict(reasons.most_common()))


def person_ref_hasher(*, key: str) -> Callable[[str], str]:
    """shared.ids.person_ref(national_id=..., key=key) with the HMAC key schedule done once
    instead of once per row: about half the cost per row. It is checked against person_ref
    before use, and person_ref itself is used when they differ, so a registry row's ref
    always equals the one intake gives the same person."""
    keyed = hmac.new(key.encode(), digestmod=hashlib.sha256)
    length = len(person_ref(national_id="1100600445635", key=key))

    def hash_id(national_id: str) -> str:
        digest = keyed.copy()
        digest.update(national_id.encode())
        return digest.hexdigest()[:length]

    probes = ("1100600445635", "3100600445635", "8999999999991")
    if all(hash_id(probe) == person_ref(national_id=probe, key=key) for probe in probes):
        return hash_id
    return partial(_person_ref, key=key)


def _person_ref(national_id: str, *, key: str) -> str:
    return person_ref(national_id=national_id, key=key)


def _check_rejected_share(*, accepted: int, rejected: int, most: float) -> None:
    if not accepted:
        raise RegistryFileError(f"No row could be imported ({rejected} rejected): an empty snapshot "
                                "would take everyone off the registry.")
    if rejected > most * (accepted + rejected):
        raise RegistryFileError(
            f"{rejected} of {accepted + rejected} rows were rejected, more than {most:.0%}: check the "
            "rejected rows for a wrong export or column before importing it as the full registry.")


def _check_effective_date(effective_date: date, *, today: date) -> None:
    if effective_date > today:
        hint = " It looks like a Buddhist Era year: write the year in the Christian Era." \
            if effective_date.year > 2400 else ""
        raise RegistryFileError(f"The effective date {effective_date.isoformat()} is in the future: it is "
                                f"the date the registry was valid on, which cannot be after today.{hint}")


async def _start_import(
    connection: AsyncConnection, *, kind: RegistryKind, effective_date: date, imported_at: datetime, file_name: str
) -> int:
    result = await connection.execute(
        insert(_IMPORTS).values(kind=kind.value, effective_date=effective_date, imported_at=imported_at,
                                file_name=file_name[:255], rows_accepted=0, rows_rejected=0)
        .returning(_IMPORTS.c.id)
    )
    return result.scalar_one()


Sink = Callable[[list[Member]], Awaitable[None]]


async def _member_writer(connection: AsyncConnection, *, import_id: int) -> "_SqliteSink | _CopySink":
    """A context giving `sink(batch)`, on the driver connection of `connection`'s transaction."""
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if connection.dialect.name == "postgresql":
        return _CopySink(driver, import_id=import_id)
    if connection.dialect.name == "sqlite":
        return _SqliteSink(driver, import_id=import_id)
    raise RegistryFileError(f"Registries are imported into SQLite or PostgreSQL, not {connection.dialect.name}.")


class _SqliteSink:
    """executemany through aiosqlite, one large batch at a time. (Handing a batch to aiosqlite's
    thread while parsing the next was tried and gained nothing measurable: sqlite3 needs the GIL
    for every row it binds, and the parsing loop holds it.)"""

    def __init__(self, driver, *, import_id: int) -> None:  # noqa: ANN001 - aiosqlite.Connection
        self._driver, self._import_id = driver, import_id
        self._sql = (f"INSERT INTO {_MEMBERS.name} ({', '.join(MEMBER_COLUMNS)}) "
                     f"VALUES ({', '.join('?' * len(MEMBER_COLUMNS))})")
        self._cache_size = -2000

    async def __aenter__(self) -> Sink:
        # The person_ref index takes rows in random order: with SQLite's default 2 MiB page
        # cache nearly every insert reads and spills index pages. A bounded cache for the load
        # (the connection goes back to the pool with its own setting afterwards).
        async with self._driver.execute("PRAGMA cache_size") as cursor:
            self._cache_size = (await cursor.fetchone())[0]
        await (await self._driver.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")).close()
        return self._write

    async def _write(self, batch: list[Member]) -> None:
        import_id = self._import_id
        cursor = await self._driver.executemany(self._sql, [(import_id, *member) for member in batch])
        await cursor.close()

    async def __aexit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        await (await self._driver.execute(f"PRAGMA cache_size = {int(self._cache_size)}")).close()


class _CopySink:
    """COPY ... FROM STDIN through psycopg: rows are streamed to the server as they are made,
    and it indexes them in its own process while this one parses the next ones."""

    def __init__(self, driver, *, import_id: int) -> None:  # noqa: ANN001 - psycopg.AsyncConnection
        self._driver, self._import_id = driver, import_id
        self._cursor = self._copy_context = self._copy = None

    async def __aenter__(self) -> Sink:
        self._cursor = self._driver.cursor()
        self._copy_context = self._cursor.copy(f"COPY {_MEMBERS.name} ({', '.join(MEMBER_COLUMNS)}) FROM STDIN")
        self._copy = await self._copy_context.__aenter__()
        return self._write

    async def _write(self, batch: list[Member]) -> None:
        write_row, import_id = self._copy.write_row, self._import_id
        for member in batch:
            await write_row((import_id, *member))

    async def __aexit__(self, exc_type, exc, tb) -> None:  # noqa: ANN001
        try:
            await self._copy_context.__aexit__(exc_type, exc, tb)
        finally:
            await self._cursor.close()
