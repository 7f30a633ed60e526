"""One outbox relay at a time per database.

Several processes may share one database (the agency adapters run one process per agency):
each has a relay, and two relays reading the same pending rows would both publish them. A
relay holds the turn from reading a batch until that batch is marked published, so every row
is sent once, and in the order it was written.
"""

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

# Any fixed number will do: advisory locks are per database, and each service has its own.
_PG_LOCK_KEY = 7_376_028
_POLL_SECONDS = 0.01


class RelayTurn:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._dialect = engine.dialect.name
        database = engine.url.database
        # SQLite's only lock is its write lock, and holding that while publishing would stop
        # every writer (an intake answering 202) whenever Kafka is slow: a file lock beside the
        # database stops only the other relays. SQLite is shared by processes of one host only.
        self._lock_path = (
            Path(f"{database}-outbox-relay.lock")
            if self._dialect == "sqlite" and database and database != ":memory:"
            else None
        )

    @contextlib.asynccontextmanager
    async def held(self, session: AsyncSession) -> AsyncIterator[None]:
        """Hold the turn until `session`'s transaction ends; enter before its first statement."""
        if self._dialect == "postgresql":
            # Released by the commit or rollback that ends the transaction.
            connection = await session.connection()
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            yield
            return
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
