"""A form version built in a process of its own, for the month close.

A province's month is a hundred thousand rows or more: read from the facts, turned into helps,
rows, a comparison with the version before, a CSV and an XLSX. Built in reporting's own process,
that leaves its resident size a few hundred MB higher after each close (the allocator keeps the
pages of so many small objects, fragmented), which is a climb over months of closes. Built in a
child process that exits afterwards, only the results come back: three large byte strings, whose
memory is returned whole when they are freed.

Each child is forked from a fork server, a process started once (never `fork` from reporting
itself: it runs threads and an event loop) with this module already imported, so a child starts
in milliseconds, not the seconds of a fresh interpreter. A child reads the database through its
own engine and runs one build (`max_tasks_per_child=1`).
"""

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from reporting import form_sources
from reporting.closing import render_step, scope_changes
from reporting.form_sources import Catalogs
from reporting.forms import FormTable, parse_month
from shared.db import make_engine, session_factory
from shared.privacy import SealingSettings, master_keys_from


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildOrder:
    """Everything a build needs besides its database: plain, picklable values."""

    catalogs: Catalogs
    sealing: SealingSettings
    form: str
    scope: str
    month_key: str
    at: datetime
    previous_version: int | None


@dataclass(frozen=True, slots=True)
class Built:
    person_count: int
    version: render_step.Version | None  # None: nothing differs from the previous version
    changes_seen: int  # the scope's count of changes (scope_changes) read before its facts


@dataclass(frozen=True, slots=True)
class Sources:
    table: FormTable
    before_json: str | None
    changes_seen: int


async def read_sources(session, order: BuildOrder) -> Sources:  # noqa: ANN001
    """What a version is built from: the scope's count of changes, then the form's table as the
    facts stand, and the rows of the previous version when there is one (to compare with). The
    count first: a change it does not include is then either in the table or counted later."""
    key = (order.form, order.scope, order.month_key)
    changes_seen = await scope_changes.changes_of(session, key=key)
    month = parse_month(order.month_key)
    if order.form == "sp12":
        table = await form_sources.build_sp12(session, org_unit=order.scope, month=month, catalogs=order.catalogs,
                                              master_keys=master_keys_from(order.sealing), generated_at=order.at)
    else:
        table = await form_sources.build_snb2(session, province=order.scope, month=month, catalogs=order.catalogs,
                                              master_keys=master_keys_from(order.sealing), generated_at=order.at)
    before = None
    if order.previous_version is not None:
        before = await render_step.rows_json(session, key=key, version=order.previous_version)
    return Sources(table=table, before_json=before, changes_seen=changes_seen)


def built(sources: Sources) -> Built:
    """The version's files and rows (None when nothing differs from the previous version)."""
    version = render_step.render_version(sources.table, before_json=sources.before_json)
    return Built(person_count=sources.table.person_count, version=version, changes_seen=sources.changes_seen)


def build_version(database_url: str, order: BuildOrder) -> Built:
    """In the child: the whole build, through an engine of its own."""
    return asyncio.run(_build(database_url, order))


async def _build(database_url: str, order: BuildOrder) -> Built:
    engine = make_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            sources = await read_sources(session, order)
    finally:
        await engine.dispose()
    return built(sources)


class ChildBuilder:
    """Runs each build in a fresh child process, one at a time."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def build(self, database_url: str, order: BuildOrder) -> Built:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            self._pool = ProcessPoolExecutor(max_workers=1, max_tasks_per_child=1, mp_context=context)
        # Submitted from a worker thread: a submit starts the child (and, the first time, the fork
        # server, a Python process importing the builder) before it returns, which on the event loop
        # stalled every consumer's heartbeat and the service's leases for seconds.
        submitted = await asyncio.to_thread(self._pool.submit, build_version, database_url, order)
        return await asyncio.wrap_future(submitted)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
