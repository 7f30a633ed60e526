"""The reporting tables the Kafka log does not hold, copied from the live database into a
rebuilt one (see reporting.rebuild): registry snapshots, the form versions already filed, and
the national feed's state (what was sent, in which order: rebuilt from the log, every record
would go again, numbered anew)."""

from collections import Counter

from sqlalchemy import Table, func, insert, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from reporting.closing.models import PublishedReport
from reporting.national_feed.models import FEED_TABLES
from reporting.registries.models import RegistryImport, RegistryMember

_TABLES: tuple[Table, ...] = (RegistryImport.__table__, RegistryMember.__table__, PublishedReport.__table__,
                             *FEED_TABLES)
COPIED_TABLES = tuple(table.name for table in _TABLES)
# Registries run to millions of rows: streamed in chunks, never held whole.
CHUNK_ROWS = 10_000


async def copy_tables(*, source: AsyncEngine, target: AsyncEngine) -> Counter:
    """Rows copied per table. Ids are kept (a registry answer names its import id), so
    PostgreSQL's id sequence is moved past them for the next import."""
    copied: Counter = Counter()
    async with source.connect() as reading, target.begin() as writing:
        present = await reading.run_sync(lambda sync: {
            name: {column["name"] for column in inspect(sync).get_columns(name)}
            for name in inspect(sync).get_table_names()})
        for table in _TABLES:
            copied[table.name] = 0
            if table.name not in present:
                continue  # a live database that never imported a registry or closed a month
            # A column added since the live database was made (a live database behind the code) takes its
            # server default, e.g. published_reports.closed_by.
            rows = await reading.stream(select(*(c for c in table.columns if c.name in present[table.name])))
            async for chunk in rows.mappings().partitions(CHUNK_ROWS):
                await writing.execute(insert(table), [dict(row) for row in chunk])
                copied[table.name] += len(chunk)
        if writing.dialect.name == "postgresql":
            imports = RegistryImport.__table__
            highest = (await writing.execute(select(func.max(imports.c.id)))).scalar()
            if highest is not None:
                await writing.execute(text("SELECT setval(pg_get_serial_sequence('registry_imports', 'id'), :n)"),
                                      {"n": highest})
    return copied
