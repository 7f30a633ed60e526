"""The background leases (shared/db/leases.py) and the jobs that run only while they hold one
(shared/background.py), on SQLite and on PostgreSQL: taken, renewed, refused to another holder
until it expires, taken over after, one winner of a race, given back at a clean stop; and a job
whose lease is lost, or cannot be renewed within its ttl, is cancelled.

The PostgreSQL cases use the project's test server (deploy/postgres/pg.sh, or SONGTOR_TEST_PG_URL)
and are skipped only when no server can be started on this machine at all."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import background
from shared.background import BackgroundLeases
from shared.db import create_tables, make_engine
from shared.db.leases import LEASE_TABLES, lease_holder, release_lease, take_lease
from shared.settings import LeaseSettings
from shared.db.schema import SCHEMA_PACKAGES, schema_of

TTL = timedelta(seconds=0.6)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:  # noqa: ANN001
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/leases.db"
    # The suite's PostgreSQL (tests/conftest.py): one that cannot be started fails the test.
    return request.getfixturevalue("postgres").fresh_database(f"leases_{uuid.uuid4().hex[:8]}")


@pytest.fixture
async def engines(database_url: str) -> AsyncIterator[list[AsyncEngine]]:
    """Three engines on one database, as three processes of a service would have."""
    made = [make_engine(database_url) for _ in range(3)]
    await create_tables(made[0], LEASE_TABLES)
    yield made
    for engine in made:
        await engine.dispose()


def test_every_service_database_has_the_lease_table():
    for service in SCHEMA_PACKAGES:
        assert "background_leases" in {table.name for table in schema_of(service).tables}, service


async def test_a_lease_is_taken_renewed_and_refused_to_another_holder_until_it_expires(engines):
    one, two, _ = engines
    assert await take_lease(engine=one, name="close", holder="a", ttl=TTL)
    first_expiry = (await lease_holder(engine=one, name="close"))[1]
    assert not await take_lease(engine=two, name="close", holder="b", ttl=TTL)  # not before it expires
    await asyncio.sleep(0.05)
    assert await take_lease(engine=one, name="close", holder="a", ttl=TTL)  # renewed
    holder, renewed_expiry = await lease_holder(engine=two, name="close")
    assert holder == "a" and renewed_expiry > first_expiry
    assert not await take_lease(engine=two, name="close", holder="b", ttl=TTL)
    # Another name is another lease.
    assert await take_lease(engine=two, name="purge", holder="b", ttl=TTL)


async def test_an_expired_lease_is_taken_over_and_its_old_holder_cannot_renew_it(engines):
    one, two, _ = engines
    assert await take_lease(engine=one, name="close", holder="a", ttl=TTL)
    await asyncio.sleep(TTL.total_seconds() + 0.2)
    assert await take_lease(engine=two, name="close", holder="b", ttl=TTL)
    assert not await take_lease(engine=one, name="close", holder="a", ttl=TTL)
    assert (await lease_holder(engine=one, name="close"))[0] == "b"


async def test_of_holders_racing_for_a_free_lease_exactly_one_wins(engines):
    for round_ in range(5):
        name = f"race-{round_}"
        won = await asyncio.gather(*(take_lease(engine=engines[i % 3], name=name, holder=f"h{i}", ttl=TTL)
                                     for i in range(9)))
        assert sum(won) == 1, won
        assert (await lease_holder(engine=engines[0], name=name))[0] == f"h{won.index(True)}"
    # And for an expired one.
    await asyncio.sleep(TTL.total_seconds() + 0.2)
    won = await asyncio.gather(*(take_lease(engine=engines[i % 3], name="race-0", holder=f"late{i}", ttl=TTL)
                                 for i in range(9)))
    assert sum(won) == 1, won


async def test_a_released_lease_is_free_at_once_and_only_its_holder_can_release_it(engines):
    one, two, _ = engines
    assert await take_lease(engine=one, name="close", holder="a", ttl=timedelta(minutes=5))
    assert not await release_lease(engine=two, name="close", holder="b")
    assert not await take_lease(engine=two, name="close", holder="b", ttl=TTL)
    assert await release_lease(engine=one, name="close", holder="a")
    assert await lease_holder(engine=one, name="close") is None
    assert await take_lease(engine=two, name="close", holder="b", ttl=TTL)


def _copy(engine: AsyncEngine, holder: str, registry: CollectorRegistry | None = None) -> BackgroundLeases:
    return BackgroundLeases(engine=engine, service="test", registry=registry,
                            settings=LeaseSettings(ttl_seconds=TTL.total_seconds()), holder=holder)


class Job:
    """A background loop that records when it runs and when it is stopped."""

    def __init__(self) -> None:
        self.starts, self.cancels = 0, 0
        self.running = asyncio.Event()

    async def __call__(self) -> None:
        self.starts += 1
        self.running.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancels += 1
            self.running.clear()
            raise


async def _until(condition, *, timeout: float) -> float:  # noqa: ANN001
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout}s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


def _held(registry: CollectorRegistry) -> float | None:
    return registry.get_sample_value("songtor_background_lease_held", {"service": "test", "lease": "close"})


async def test_only_the_holder_runs_the_job_and_a_clean_stop_hands_it_over_at_once(engines):
    registries = [CollectorRegistry(), CollectorRegistry()]
    jobs = [Job(), Job()]
    first = asyncio.create_task(_copy(engines[0], "a", registries[0]).runs_alone(name="close", job=jobs[0])())
    await _until(jobs[0].running.is_set, timeout=5)
    second = asyncio.create_task(_copy(engines[1], "b", registries[1]).runs_alone(name="close", job=jobs[1])())
    await asyncio.sleep(TTL.total_seconds() * 3)  # several renewals and several tries of the other copy
    assert (jobs[0].starts, jobs[1].starts) == (1, 0)
    assert (_held(registries[0]), _held(registries[1])) == (1.0, 0.0)

    first.cancel()  # the service stops: its job is cancelled and its lease given back
    await asyncio.gather(first, return_exceptions=True)
    assert jobs[0].cancels == 1 and _held(registries[0]) == 0.0
    waited = await _until(jobs[1].running.is_set, timeout=5)
    assert waited < TTL.total_seconds() / 3 + 0.3  # the next try, not the ttl
    assert _held(registries[1]) == 1.0
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    assert await lease_holder(engine=engines[2], name="close") is None


async def test_a_dead_holders_lease_is_taken_over_once_it_expires(engines):
    # A copy killed with -9 leaves its row as it was: taken over after its expiry, not before.
    assert await take_lease(engine=engines[0], name="close", holder="killed", ttl=TTL)
    started = time.monotonic()
    job = Job()
    task = asyncio.create_task(_copy(engines[1], "b").runs_alone(name="close", job=job)())
    await _until(job.running.is_set, timeout=5)
    waited = time.monotonic() - started
    assert TTL.total_seconds() - 0.05 <= waited <= TTL.total_seconds() * 4 / 3 + 0.3
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_job_whose_lease_was_taken_by_another_copy_is_cancelled(engines):
    registry, job = CollectorRegistry(), Job()
    task = asyncio.create_task(_copy(engines[0], "a", registry).runs_alone(name="close", job=job)())
    await _until(job.running.is_set, timeout=5)
    # As if this copy had been paused past its ttl and another had taken the lease meanwhile.
    table = LEASE_TABLES[0]
    async with engines[1].begin() as connection:
        await connection.execute(update(table).where(table.c.name == "close").values(holder="b"))
    waited = await _until(lambda: job.cancels == 1, timeout=5)
    assert waited <= TTL.total_seconds() / 3 + 0.3  # at its next renewal
    assert _held(registry) == 0.0
    assert (await lease_holder(engine=engines[1], name="close"))[0] == "b"  # not released: it is not ours
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert job.starts == 1


async def test_a_job_that_cannot_renew_its_lease_stops_before_the_lease_expires(engines, monkeypatch):
    real, calls = background.take_lease, []

    async def database_away_after_the_first(**arguments) -> bool:  # noqa: ANN003
        calls.append(time.monotonic())
        if len(calls) == 1:
            return await real(**arguments)
        await asyncio.Event().wait()  # a statement that never answers (the database's host is gone)
        return False

    monkeypatch.setattr(background, "take_lease", database_away_after_the_first)
    registry, job = CollectorRegistry(), Job()
    task = asyncio.create_task(_copy(engines[0], "a", registry).runs_alone(name="close", job=job)())
    await _until(job.running.is_set, timeout=5)
    await _until(lambda: job.cancels == 1, timeout=5)
    stopped = time.monotonic()
    # Stopped within the ttl counted from before the statement that took the lease was sent, so no
    # later than the expiry the database wrote: another copy can take it only after this one stopped.
    assert stopped - calls[0] <= TTL.total_seconds() + 0.15
    assert stopped - calls[0] >= TTL.total_seconds() - 0.05
    assert _held(registry) == 0.0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_job_that_ends_by_itself_gives_its_lease_up_and_is_run_again(engines):
    runs = []

    async def fails() -> None:
        runs.append(time.monotonic())
        raise RuntimeError("boom")

    task = asyncio.create_task(_copy(engines[0], "a").runs_alone(name="close", job=fails)())
    await _until(lambda: len(runs) >= 2, timeout=5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert runs[1] - runs[0] >= TTL.total_seconds() / 3 - 0.05  # after a pause, not in a tight loop
