"""Async engines. The same code runs on an embedded SQLite file and on PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


def _async_url(url: str) -> str:
    """Accept the URLs people write (sqlite:///x.db, postgresql://...) and pick async drivers."""
    if url.startswith("sqlite:"):
        return url.replace("sqlite:", "sqlite+aiosqlite:", 1)
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> AsyncEngine:
    async_url = _async_url(url)
    if async_url.startswith("sqlite+aiosqlite:///"):
        Path(async_url.removeprefix("sqlite+aiosqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(async_url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
            # WAL lets the HTTP API read while a consumer writes. FULL syncs the WAL at every commit:
            # with NORMAL, a commit survives a crash of the process but not a power cut or a kernel
            # crash, and a consumer commits its Kafka offset right after its database commit, so the
            # event would be gone from both. Batches and group commits keep the syncs few.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # hide_parameters: SQL errors end up in logs, and parameters can hold personal data.
    # Columns are timestamps without zone holding UTC; a UTC session keeps aware values from
    # being shifted by the server's own zone on the way in and in comparisons.
    return create_async_engine(
        async_url, pool_pre_ping=True, pool_size=5, max_overflow=5, hide_parameters=True,
        connect_args={"options": "-c timezone=UTC"},
    )


def insert_for(connection: AsyncConnection) -> Any:
    """`insert` of the connection's dialect: both have on_conflict_do_nothing/do_update."""
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


_WRITE_GATES: "WeakKeyDictionary[object, WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]]" = (
    WeakKeyDictionary())


def bound_engine(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine | None:
    """The engine a session factory opens its sessions on (session_factory binds one)."""
    return sessions.kw.get("bind")


def write_gate(engine: AsyncEngine | None) -> AbstractAsyncContextManager:
    """Held around a write transaction of the hot paths (a consumer's batch, a relay's marks,
    intake's group commit). SQLite has one writer at a time, and a writer that finds the database
    locked polls it, sleeping longer the longer it has waited (1, 2, 5 … 100 ms), so under several
    writers the one that waited longest is the likeliest to miss its turn again: a long latency
    tail. Writers of one process queue here instead, in arrival order, and each starts the moment
    the one before commits. PostgreSQL locks rows, not the database: nothing to queue for there."""
    if engine is None or engine.dialect.name != "sqlite":
        return nullcontext()
    by_loop = _WRITE_GATES.setdefault(engine.sync_engine, WeakKeyDictionary())
    return by_loop.setdefault(asyncio.get_running_loop(), asyncio.Lock())


@asynccontextmanager
async def session_for_large_values(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for writing values of megabytes (a filed form's CSV, XLSX and rows). On SQLite its
    connection is closed afterwards instead of going back to the pool: SQLite keeps the values last
    bound to a prepared statement (sqlite3_reset does not clear bindings) and Python's sqlite3 keeps
    its statements prepared, so a pooled connection would hold the last form's megabytes for good.
    PostgreSQL's server keeps nothing of a statement's parameters, and its connection is pooled;
    so is an in-memory SQLite database's, whose data would go with it."""
    engine = bound_engine(sessions)
    if engine is None:
        raise ValueError("session_for_large_values needs a session factory bound to an engine (session_factory)")
    async with engine.connect() as connection:
        try:
            async with AsyncSession(bind=connection, expire_on_commit=False) as session:
                yield session
        finally:
            if engine.dialect.name == "sqlite" and not _in_memory(engine.url.database):
                await connection.invalidate()


def _in_memory(database: str | None) -> bool:
    return database in (None, "", ":memory:") or "mode=memory" in database


async def create_tables(engine: AsyncEngine, tables: Sequence[Table]) -> None:
    """Create this service's tables (only its own: every service has its own database)."""
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: SQLModel.metadata.create_all(sync, tables=list(tables)))


def stored_utc(moment: datetime) -> datetime:
    """A datetime read back from the database, time-zone-aware. Every service stores UTC; SQLite
    hands it back without its zone, PostgreSQL (sessions in UTC) with it."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
