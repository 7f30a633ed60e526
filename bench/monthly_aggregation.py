"""Monthly aggregation over N referral facts (default 1,000,000) on SQLite and PostgreSQL.

    .venv/bin/python bench/monthly_aggregation.py [--rows 1000000] [--repeat 5] [--databases sqlite,postgresql]

Generates facts spread the way the offices' work is: a few large provinces and many small
ones, each referral in one of its province's districts (the org unit), over the 24 months of
fiscal years 2569 and 2570, statuses and outcomes from the real catalogs; about one service at
intake per 20 referrals, one person per 2.5 referrals. Bulk-loaded (executemany on SQLite, COPY
on PostgreSQL), then each query is run once to warm the caches and timed --repeat times:
  - baseline: SELECT count(*) of the same province's facts for the month (resp. fiscal year),
    the least any aggregation over them has to do;
  - monthly.monthly_summary (read from the rollups, reporting.rollups, filled from the loaded
    facts by rollups.backfill as a service start does: timed too), the same four breakdowns
    and the services counted by GROUP BY straight from the facts (how it was before the
    rollups), summaries.summary for a month and a fiscal year of the largest province, and
    SP-12 of its busiest org unit for the month (form_sources.build_sp12 + render).
Then the same again after adding a candidate covering index (COVERING), to see whether it pays.
Prints medians, every run, and the ratio to the baseline of the same period.
PostgreSQL: SONGTOR_TEST_PG_URL's server, else deploy/postgres/pg.sh; database bench_monthly is
dropped and re-created on each run.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "services"), str(REPO / "bench")]

from monthly_data import MONTHS, PROVINCES, generate, load_postgres, load_sqlite  # noqa: E402

BANGKOK = ZoneInfo("Asia/Bangkok")
# Tried on top of the model's indexes, in the same run: every column the summaries read, so a
# province's period is read from the index alone. Kept out of the model unless it pays (README).
COVERING = ("CREATE INDEX bench_covering_summary ON referral_facts (province_code, intake_month, has_intake, status, "
            "category, agency, outcome_code, district_code, worker_type, source_program, person_ref)")


async def _median(repeat: int, once: Callable[[], Awaitable[object]]) -> dict:
    await once()  # warm-up: caches, plans, imports
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        await once()
        runs.append(time.perf_counter() - started)
    return {"seconds": statistics.median(runs), "runs": [round(r, 4) for r in runs]}


async def measure(url: str, *, province: str, org_unit: str, month: str, fiscal_year: int, repeat: int) -> dict:
    from sqlalchemy import func, select
    from sqlmodel import col

    from reporting.form_sources import Catalogs, build_sp12
    from reporting.forms import FiscalYear, parse_month, render
    from reporting.models import IntakeServiceFact, ReferralFact
    from reporting.monthly import monthly_summary
    from reporting.summaries import Period, summary
    from shared.catalog import load_catalog
    from shared.catalog.outcomes import load_outcomes
    from shared.db import make_engine, session_factory
    from shared.privacy import SealingSettings, master_keys_from

    catalogs = Catalogs(needs=load_catalog(), outcomes=load_outcomes())
    # The data's keys are wrapped by the development master key (monthly_data.generate).
    master_keys = master_keys_from(SealingSettings(environment="test"))
    year, chosen = FiscalYear(fiscal_year), parse_month(month)
    engine = make_engine(url)
    sessions = session_factory(engine)

    def count(first: str, last: str) -> Callable[[], Awaitable[object]]:
        async def once() -> object:
            async with sessions() as session:
                return (await session.exec(select(func.count()).select_from(ReferralFact).where(
                    ReferralFact.province_code == province, col(ReferralFact.intake_month).between(first, last)))).one()
        return once

    async def from_facts(session) -> dict:  # noqa: ANN001
        """The monthly summary's breakdowns as GROUP BYs of the facts, without the rollups."""
        where = (col(ReferralFact.has_intake).is_(True), ReferralFact.province_code == province,
                 ReferralFact.intake_month == month)
        found = {}
        for column in (ReferralFact.agency, ReferralFact.status, ReferralFact.category, ReferralFact.worker_type):
            found[column.key] = dict((await session.exec(select(column, func.count()).where(*where)
                                                          .group_by(column))).all())
        found["services"] = dict((await session.exec(
            select(IntakeServiceFact.need_code, func.count())
            .where(IntakeServiceFact.province_code == province, IntakeServiceFact.intake_month == month)
            .group_by(IntakeServiceFact.need_code))).all())
        return found

    def run(work: Callable) -> Callable[[], Awaitable[object]]:  # type: ignore[type-arg]
        async def once() -> object:
            async with sessions() as session:
                return await work(session)
        return once

    async def sp12(session) -> bytes:  # noqa: ANN001
        form = await build_sp12(session, org_unit=org_unit, month=chosen, catalogs=catalogs, master_keys=master_keys,
                                generated_at=datetime(2027, 10, 1, tzinfo=UTC))
        return render(form, fmt="xlsx")

    cases = {
        "baseline: count(*) province month": count(month, month),
        "baseline: count(*) province fiscal year": count(year.months[0].key, year.months[-1].key),
        "monthly breakdowns from the facts": run(from_facts),
        "monthly_summary (GET /monthly), rollups": run(lambda s: monthly_summary(s, province=province, month=month,
                                                                        timezone="Asia/Bangkok")),
        "summary, province month": run(lambda s: summary(s, province=province, period=Period.of_month(chosen),
                                                         zone=BANGKOK, outcomes=catalogs.outcomes)),
        "summary, province fiscal year": run(lambda s: summary(s, province=province, period=Period.of_fiscal_year(year),
                                                               zone=BANGKOK, outcomes=catalogs.outcomes)),
        "SP-12 org unit month (build + xlsx)": run(sp12),
    }
    try:
        results = {name: await _median(repeat, once) for name, once in cases.items()}
        # Timed numbers mean nothing if they are wrong: the rollups must say what the facts say.
        async with sessions() as session:
            rolled = await monthly_summary(session, province=province, month=month, timezone="Asia/Bangkok")
            counted = await from_facts(session)
        results["rollups agree with the facts"] = (
            rolled["by_status"] == counted["status"]
            and rolled["by_worker_type"] == {k or "unassigned": v for k, v in counted["worker_type"].items()}
            and rolled["services_delivered_at_intake"]["by_need"] == counted["services"])
        results["rows in the province month"] = (await count(month, month)())[0]
        results["rows in the province fiscal year"] = (await count(year.months[0].key, year.months[-1].key)())[0]
    finally:
        await engine.dispose()
    return results


def postgres_url(name: str) -> str:
    if from_env := os.environ.get("SONGTOR_TEST_PG_URL"):
        base = from_env.rsplit("/", 1)[0]
        import psycopg

        admin = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"{base}/{name}"
    script = REPO / "deploy" / "postgres" / "pg.sh"
    return subprocess.run(["bash", str(script), "fresh-db", name], capture_output=True, text=True, check=True
                          ).stdout.strip().splitlines()[-1]


async def _fill_rollups(url: str) -> float:
    """Seconds to fill the rollups from the loaded facts, as the service does on its first start
    over a database from before them."""
    from reporting import rollups
    from shared.db import make_engine, session_factory

    engine = make_engine(url)
    try:
        started = time.perf_counter()
        await rollups.backfill(session_factory(engine))
        return time.perf_counter() - started
    finally:
        await engine.dispose()


async def _create_tables(url: str) -> None:
    from reporting.models import TABLES
    from shared.db import create_tables, make_engine

    engine = make_engine(url)
    try:
        await create_tables(engine, TABLES)
    finally:
        await engine.dispose()


def add_covering_index(url: str) -> float:
    """Seconds to build it and refresh the planner's statistics."""
    started = time.perf_counter()
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            connection.execute(COVERING)
            connection.execute("ANALYZE")
    else:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as connection:
            connection.execute(COVERING)
            connection.execute("VACUUM ANALYZE referral_facts")
    return time.perf_counter() - started


def bench(*, rows: int, repeat: int, databases: list[str], work: Path, log: Callable[[str], None] = print,
          covering: bool = True) -> dict:
    """Every database's timings; the smoke test calls this with a few thousand rows."""
    started = time.perf_counter()
    data = generate(rows=rows)
    facts = data[0]
    log(f"generated {len(facts):,} referral facts, {len(data[1]):,} services at intake, {len(data[2]):,} people "
        f"in {time.perf_counter() - started:.1f} s")
    largest = max(PROVINCES, key=PROVINCES.get)  # type: ignore[arg-type]
    month = MONTHS[-2]  # a full, busy month: August 2027
    units: dict[str, int] = {}
    for fact in facts:
        if fact[9] == largest and fact[17] == month:
            units[fact[12]] = units.get(fact[12], 0) + 1
    org_unit = max(units, key=units.get) if units else f"{largest}01"  # type: ignore[arg-type]
    results: dict = {"province": largest, "org_unit": org_unit, "month": month, "fiscal_year": 2570}
    for database in databases:
        if database == "sqlite":
            path = work / "bench_monthly.db"
            for leftover in work.glob("bench_monthly.db*"):
                leftover.unlink()
            url = f"sqlite:///{path}"
            asyncio.run(_create_tables(url))
            loader: Callable[[], None] = lambda: load_sqlite(path, data)  # noqa: E731
        elif database == "postgresql":
            url = postgres_url("bench_monthly")
            asyncio.run(_create_tables(url))
            loader = lambda: load_postgres(url, data)  # noqa: E731
        else:
            raise SystemExit(f"unknown database {database!r}")
        started = time.perf_counter()
        loader()
        load_seconds = time.perf_counter() - started
        fill_seconds = asyncio.run(_fill_rollups(url))
        log(f"{database}: loaded in {load_seconds:.1f} s, rollups filled in {fill_seconds:.1f} s; "
            f"timing (warm-up + median of {repeat})...")
        where = {"province": largest, "org_unit": org_unit, "month": month, "fiscal_year": 2570, "repeat": repeat}
        results[database] = {"load_seconds": load_seconds, "rollup_fill_seconds": fill_seconds,
                             **asyncio.run(measure(url, **where))}
        if covering:
            seconds = add_covering_index(url)
            log(f"{database}: covering index built in {seconds:.1f} s; timing again...")
            results[f"{database} + covering index"] = {"load_seconds": load_seconds, "index_seconds": seconds,
                                                       "rollup_fill_seconds": fill_seconds,
                                                       **asyncio.run(measure(url, **where))}
    return results


def report(results: dict, *, rows: int, repeat: int, databases: list[str]) -> Iterator[str]:
    yield (f"monthly aggregation over {rows:,} referral facts; province {results['province']}, month "
           f"{results['month']}, fiscal year {results['fiscal_year']}, org unit {results['org_unit']}; "
           f"median of {repeat} after a warm-up; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for database in [name for name in results if name.split(" ")[0] in databases]:
        r = results[database]
        built = f", covering index built in {r['index_seconds']:.1f} s" if "index_seconds" in r else ""
        yield (f"\n{database}: loaded in {r['load_seconds']:.1f} s, rollups filled in {r['rollup_fill_seconds']:.1f} s"
               f"{built}; {r['rows in the province month']:,} facts "
               f"in the province month, {r['rows in the province fiscal year']:,} in its fiscal year")
        yield f"  rollups agree with the facts: {r['rollups agree with the facts']}"
        yield f"  {'':<42}{'median s':>10}{'x baseline':>12}  runs (s)"
        for name, value in r.items():
            if not isinstance(value, dict):
                continue
            base = r["baseline: count(*) province fiscal year" if "fiscal" in name
                     else "baseline: count(*) province month"]["seconds"]
            yield f"  {name:<42}{value['seconds']:>10.4f}{value['seconds'] / base:>12.1f}  {value['runs']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--no-covering", action="store_true", help="skip the second round with the covering index")
    args = parser.parse_args()
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    with tempfile.TemporaryDirectory(prefix="monthly-bench-") as work:
        results = bench(rows=args.rows, repeat=args.repeat, databases=databases, work=Path(work),
                        log=lambda line: print(line, file=sys.stderr, flush=True), covering=not args.no_covering)
    for line in report(results, rows=args.rows, repeat=args.repeat, databases=databases):
        print(line)


if __name__ == "__main__":
    main()
