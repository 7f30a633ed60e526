"""Background loops of the services (the overdue watch, the month close): run a job now and then
every so often, for the life of the process; and, for the jobs that must run in one copy of a
service at a time when several share its database, run them only while this copy holds their
lease (shared/db/leases.py).

A leased job runs once at a time, not exactly once: a copy that loses its lease has its job
cancelled wherever it is (between two statements, mid-transaction, after a publish and before
its mark), and the copy that takes over starts the job from the beginning. So every such job is
written to be idempotent anyway (a unique key per notice and per filed version, derived event
ids, deletes that find nothing the second time); the lease spares the copies the duplicated
work and the collisions, it does not make a second run harmless — the jobs do."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.leases import process_holder, release_lease, take_lease
from shared.settings import LeaseSettings

logger = logging.getLogger("songtor.background")
Job = Callable[[], Awaitable[None]]
_RELEASE_SECONDS = 5.0  # at shutdown, how long giving a lease back may take before we leave it to expire


async def every(seconds: float, job: Callable[[], Awaitable[object]], *, what: str, logger: logging.Logger) -> None:
    """Until cancelled. A failed run is logged and retried at the next turn: a database or broker
    outage must not end the loop."""
    while True:
        try:
            await job()
        except Exception:  # noqa: BLE001
            logger.warning("%s failed; will retry", what, exc_info=True)
        await asyncio.sleep(seconds)


class BackgroundLeases:
    """The leases of one process: its holder id, the ttl, and the gauge that says which of its
    leased jobs it runs (songtor_background_lease_held{service,lease})."""

    def __init__(self, *, engine: AsyncEngine, service: str, registry: CollectorRegistry | None,
                 settings: LeaseSettings, holder: str | None = None) -> None:
        self.engine, self.service, self.holder = engine, service, holder or process_holder()
        self.ttl = timedelta(seconds=settings.ttl_seconds)
        self._held = Gauge("songtor_background_lease_held", "1 while this process holds the lease of a background "
                           "job and runs it; 0 while another copy of the service does", ["service", "lease"],
                           registry=registry) if registry is not None else None

    def runs_alone(self, *, name: str, job: Job) -> Job:
        """`job` (a background loop) wrapped so that of the copies sharing the database only the
        lease holder runs it; another copy takes it over within the ttl (and a third) when the
        holder dies, and the holder's job is cancelled when it can no longer renew the lease."""

        async def run() -> None:
            await _LeasedRun(leases=self, name=name, job=job).run()

        return run

    def show(self, *, name: str, held: bool) -> None:
        if self._held is not None:
            self._held.labels(self.service, name).set(1 if held else 0)


class _LeasedRun:
    def __init__(self, *, leases: BackgroundLeases, name: str, job: Job) -> None:
        self._leases, self.name, self._job = leases, name, job
        self._ttl = leases.ttl.total_seconds()
        self._turn = self._ttl / 3  # renewals, and a waiting copy's tries
        self._deadline = 0.0  # monotonic: until when this copy may run the job without another renewal

    async def run(self) -> None:
        self._leases.show(name=self.name, held=False)
        while True:
            if await self._take(within=self._turn):
                self._leases.show(name=self.name, held=True)
                logger.info("lease %s taken: this copy runs it", self.name)
                try:
                    await self._run_while_held()
                finally:
                    self._leases.show(name=self.name, held=False)
            await asyncio.sleep(self._turn)

    async def _take(self, *, within: float) -> bool | None:
        """Take or renew: True, and the deadline moves to ttl after the statement was sent (no later
        than the expiry the database wrote); False, another copy holds it; None, no answer within
        `within` seconds (the database away, or slow)."""
        sent, leases = time.monotonic(), self._leases
        try:
            taken = await asyncio.wait_for(
                take_lease(engine=leases.engine, name=self.name, holder=leases.holder, ttl=leases.ttl), timeout=within)
        except Exception:  # noqa: BLE001 - no answer is not a refusal: the caller decides
            logger.warning("lease %s could not be taken or renewed; will retry", self.name, exc_info=True)
            return None
        if taken:
            self._deadline = sent + self._ttl
        return taken

    async def _run_while_held(self) -> None:
        task = asyncio.create_task(self._job(), name=f"{self._leases.service}-{self.name}")
        try:
            while True:
                renew_at = min(time.monotonic() + self._turn, self._deadline)
                await asyncio.wait({task}, timeout=max(renew_at - time.monotonic(), 0))
                if task.done():
                    self._log_end(task)
                    return
                left = self._deadline - time.monotonic()
                renewed = await self._take(within=left) if left > 0 else None
                if renewed is False:
                    logger.warning("lease %s was taken by another copy: its job stops here", self.name)
                    return
                if renewed is None and time.monotonic() >= self._deadline:
                    logger.warning("lease %s not renewed within its ttl: its job stops here", self.name)
                    return
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            self._leases.show(name=self.name, held=False)  # stopped: not running it, whatever the release does
            await self._release()

    def _log_end(self, task: asyncio.Task) -> None:
        error = None if task.cancelled() else task.exception()
        logger.warning("background job %s ended by itself (%s); its lease is given up", self.name,
                       type(error).__name__ if error else "returned", exc_info=error)

    async def _release(self) -> None:
        leases = self._leases
        with contextlib.suppress(Exception):
            await asyncio.shield(asyncio.wait_for(
                release_lease(engine=leases.engine, name=self.name, holder=leases.holder), timeout=_RELEASE_SECONDS))
