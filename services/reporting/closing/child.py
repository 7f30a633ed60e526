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
from reporting.closing import render_step
from reporting.form_sources import Catalogs
from reporting.forms import FormTable, parse_month
from shared.db import make_engine, session_factory


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildOrder:
    """Everything a child needs to build one version: plain, picklable values."""

    database_url: str
    catalogs: Catalogs
    form: str
    scope: str
    month_key: str
    at: datetime
    previous_version: int | None


@dataclass(frozen=True, slots=True)
class Built:
    person_count: int
    version: render_step.Version


async def build_table(session, *, catalogs: Catalogs, form: str, scope: str, month_key: str,  # noqa: ANN001
                      at: datetime) -> FormTable:
    month = parse_month(month_key)
    if form == "sp12":
        return await form_sources.build_sp12(session, org_unit=scope, month=month, catalogs=catalogs, generated_at=at)
    return await form_sources.build_snb2(session, province=scope, month=month, catalogs=catalogs, generated_at=at)


def build_version(order: BuildOrder) -> Built | None:
    """In the child: the version's files and rows, or None when nothing differs from the previous version."""
    return asyncio.run(_build(order))


async def _build(order: BuildOrder) -> Built | None:
    engine = make_engine(order.database_url)
    try:
        async with session_factory(engine)() as session:
            table = await build_table(session, catalogs=order.catalogs, form=order.form, scope=order.scope,
                                      month_key=order.month_key, at=order.at)
            before = None
            if order.previous_version is not None:
                before = await render_step.rows_json(session, key=(order.form, order.scope, order.month_key),
                                                     version=order.previous_version)
    finally:
        await engine.dispose()
    version = render_step.render_version(table, before_json=before)
    return None if version is None else Built(person_count=table.person_count, version=version)


class ChildBuilder:
    """Runs each build in a fresh child process, one at a time."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def build(self, order: BuildOrder) -> Built | None:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            self._pool = ProcessPoolExecutor(max_workers=1, max_tasks_per_child=1, mp_context=context)
        return await asyncio.get_running_loop().run_in_executor(self._pool, build_version, order)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
