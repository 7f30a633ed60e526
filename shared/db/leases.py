"""Named leases in a service's own database: which copy of a service runs a background job that
must run in one process at a time (the month close, the overdue watch, the retention purge), when
several copies of the service share one database.

A lease is one row of `background_leases`: its name, its holder (one process: host, pid and a
random part, so a restarted process with a reused pid is someone else) and when it expires.
Taking and renewing are one statement, the same on SQLite and PostgreSQL:

    INSERT … ON CONFLICT (name) DO UPDATE SET holder = me, expires_at = now + ttl
        WHERE background_leases.holder = me OR background_leases.expires_at < now
    RETURNING holder

a compare-and-set on the holder: the row is written, and the statement returns it, only when it
is new, already this holder's, or expired. Two copies taking a free lease at once both run it;
PostgreSQL makes the second wait for the first's row and then finds it held, SQLite runs one
writer at a time: either way one wins.

Clocks. On PostgreSQL `now` is the server's clock (`clock_timestamp()`), so every copy, on any
host, is judged by the one clock that writes and compares the expiry: skew between the copies'
hosts does not matter. SQLite is a file shared only by processes of one host, so the host's clock
is the database's clock; a step of that clock (an NTP correction) moves every copy's view at once
(a forward step can end a lease early: its holder then finds at its next renewal, within ttl/3,
that it was taken, and stops). The holder never trusts a wall clock for its own deadline: it
counts the ttl on its monotonic clock from *before* it sent the statement that took or renewed
the lease, which is no later than the database's expiry, and stops its job at that deadline
unless a renewal went through (shared/background.py).
"""

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, Interval, bindparam, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Field as Column, SQLModel

from shared.db.engine import insert_for, stored_utc


class BackgroundLease(SQLModel, table=True):
    """Who runs a background job now; one row per job that runs in one copy at a time."""

    __tablename__ = "background_leases"

    name: str = Column(primary_key=True, max_length=100)
    holder: str = Column(max_length=120)
    expires_at: datetime
    renewed_at: datetime


LEASE_TABLES = [BackgroundLease.__table__]
_TABLE = BackgroundLease.__table__


def process_holder() -> str:
    """This process as a lease holder: host, pid, and a random part (pids are reused)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


async def take_lease(*, engine: AsyncEngine, name: str, holder: str, ttl: timedelta) -> bool:
    """Take the lease `name` for `holder` for `ttl`, or renew it when `holder` has it already.
    False when another holder has it and it has not expired. One statement, committed."""
    t = _TABLE
    # Not behind the process's write gate (engine.write_gate): a renewal must not queue behind a
    # backlog of consumer batches; one short statement takes its turn at SQLite's lock between them.
    async with engine.begin() as connection:
        insert = insert_for(connection)
        if connection.dialect.name == "postgresql":
            now = func.clock_timestamp(type_=DateTime(timezone=True))
            expires = now + bindparam("ttl", ttl, type_=Interval)
        else:
            now = datetime.now(UTC)  # the host's clock: SQLite is shared only by processes of one host
            expires = now + ttl
        statement = insert(t).values(name=name, holder=holder, expires_at=expires, renewed_at=now)
        statement = statement.on_conflict_do_update(
            index_elements=[t.c.name],
            set_={"holder": statement.excluded.holder, "expires_at": statement.excluded.expires_at,
                  "renewed_at": statement.excluded.renewed_at},
            where=or_(t.c.holder == statement.excluded.holder, t.c.expires_at < statement.excluded.renewed_at),
        ).returning(t.c.holder)
        won = (await connection.execute(statement)).scalar_one_or_none()
    return won == holder


async def release_lease(*, engine: AsyncEngine, name: str, holder: str) -> bool:
    """Give the lease up at a clean stop, so another copy takes it at once rather than after its
    ttl. Nothing happens when `holder` no longer has it. Whether it was this holder's."""
    async with engine.begin() as connection:
        result = await connection.execute(delete(_TABLE).where(_TABLE.c.name == name, _TABLE.c.holder == holder))
    return result.rowcount == 1


async def lease_holder(*, engine: AsyncEngine, name: str) -> tuple[str, datetime] | None:
    """Who holds `name` and until when (by the database's clock), expired or not; None: nobody."""
    async with engine.connect() as connection:
        row = (await connection.execute(
            select(_TABLE.c.holder, _TABLE.c.expires_at).where(_TABLE.c.name == name))).first()
    return None if row is None else (row.holder, stored_utc(row.expires_at))
