"""Registry import: N rows (default 1,000,000) into SQLite and PostgreSQL, against a baseline.

    .venv/bin/python bench/registry_import.py [--rows 1000000] [--repeat 3] [--databases sqlite,postgresql]

Generates a registry CSV (valid Thai IDs with their check digits, a few % bad rows of the kinds
offices send) into a temporary directory, then times, each in a fresh child process so its
peak memory is its own:
  - baseline: the same file read with the csv module and every ID hashed (no checks, no database);
  - the real import (reporting.registries.import_registry) into a fresh database of each kind.
Prints the median of --repeat runs: seconds, rows/s, peak RSS and the ratio to the baseline.
PostgreSQL: SONGTOR_TEST_PG_URL's server, else deploy/postgres/pg.sh (started if needed);
a database named bench_registry is dropped and re-created there for each run.
"""

import argparse
import asyncio
import csv
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "services")]

KEY = "bench-person-ref-key"
DISTRICTS = {"64": range(6401, 6410), "24": range(2401, 2412), "10": range(1001, 1051), "30": range(3001, 3033)}
HEADER = ("เลขประจำตัวประชาชน", "รหัสบ้าน", "รหัสจังหวัด", "รหัสอำเภอ")


def _valid_id(rng: random.Random) -> str:
    from stdnum.th import pin

    first12 = str(rng.randint(1, 8)) + f"{rng.randrange(10 ** 11):011d}"
    return first12 + pin.calc_check_digit(first12)


def _bad_row(rng: random.Random, good: list[str]) -> list[str]:
    national_id, household, province, district = good
    kind = rng.randrange(5)
    if kind == 0:  # a mistyped last digit
        national_id = national_id[:12] + str((int(national_id[12]) + 1) % 10)
    elif kind == 1:  # a digit lost
        national_id = national_id[:12]
    elif kind == 2:  # Excel's number format
        national_id = f"{int(national_id):.5E}".replace("E", "E+").replace("E++", "E+")
    elif kind == 3:  # a district of another province
        district = "9999" if province != "99" else "1001"
    else:  # no household
        household = ""
    return [national_id, household, province, district]


def generate(path: Path, *, rows: int, bad_share: float, seed: int = 7) -> int:
    """Writes the file in chunks (memory stays flat); returns the number of bad rows."""
    rng = random.Random(seed)
    provinces = list(DISTRICTS)
    bad = 0
    with path.open("w", encoding="utf-8", newline="") as file:
        file.write("\ufeff")
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerow(HEADER)
        chunk: list[list[str]] = []
        for _ in range(rows):
            province = rng.choice(provinces)
            row = [_valid_id(rng), f"{rng.randrange(10 ** 11):011d}", province, str(rng.choice(DISTRICTS[province]))]
            if rng.random() < bad_share:
                row = _bad_row(rng, row)
                bad += 1
            chunk.append(row)
            if len(chunk) >= 50_000:
                writer.writerows(chunk)
                chunk.clear()
        writer.writerows(chunk)
    return bad


# ---------------------------------------------------------------- child runs ----

def child_baseline(path: Path) -> dict:
    from shared.ids import person_ref

    started = time.perf_counter()
    count = 0
    with path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file)
        next(reader)
        for cells in reader:
            person_ref(national_id=cells[0], key=KEY)
            count += 1
    return {"seconds": time.perf_counter() - started, "rows": count}


def child_import(path: Path, url: str) -> dict:
    from reporting.registries import REGISTRY_TABLES, import_registry
    from shared.db import create_tables, make_engine

    async def run() -> dict:
        engine = make_engine(url)
        try:
            await create_tables(engine, REGISTRY_TABLES)
            result = await import_registry(engine, kind="tpmap", effective_date=date(2026, 10, 1), path=path,
                                           person_ref_key=KEY, rejects_path=path.with_name("rejects.csv"))
        finally:
            await engine.dispose()
        return {"seconds": result.seconds, "rows": result.rows_accepted + result.rows_rejected,
                "accepted": result.rows_accepted, "rejected": result.rows_rejected}

    return asyncio.run(run())


def run_child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- databases ----

def postgres_url() -> str:
    if from_env := os.environ.get("SONGTOR_TEST_PG_URL"):
        return from_env.rsplit("/", 1)[0] + "/bench_registry"
    script = REPO / "deploy" / "postgres" / "pg.sh"
    return subprocess.run(["bash", str(script), "start"], capture_output=True, text=True, check=True
                          ).stdout.strip().splitlines()[-1].rsplit("/", 1)[0] + "/bench_registry"


def fresh_postgres(url: str) -> None:
    import psycopg

    admin = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute('DROP DATABASE IF EXISTS "bench_registry" WITH (FORCE)')
        connection.execute('CREATE DATABASE "bench_registry"')


def median_run(label: str, repeat: int, once) -> dict:  # noqa: ANN001
    runs = []
    for attempt in range(1, repeat + 1):
        runs.append(once())
        print(f"  {label} run {attempt}: {runs[-1]['seconds']:.2f} s, peak RSS {runs[-1]['peak_rss_mib']:.0f} MiB",
              file=sys.stderr)
    middle = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    return {**middle, "all_seconds": [round(r["seconds"], 2) for r in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bad-share", type=float, default=0.03)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path, *rest = args.child
        result = child_baseline(Path(path)) if kind == "baseline" else child_import(Path(path), rest[0])
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["peak_rss_mib"] = usage.ru_maxrss / 1024
        result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
        print(json.dumps(result))
        return

    work = Path(tempfile.mkdtemp(prefix="registry-bench-"))
    try:
        source = work / "registry.csv"
        started = time.perf_counter()
        bad = generate(source, rows=args.rows, bad_share=args.bad_share)
        print(f"generated {args.rows:,} rows ({bad:,} bad, {source.stat().st_size / 2**20:.0f} MiB) "
              f"in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        results = {"baseline": median_run("baseline", args.repeat, lambda: run_child(["baseline", str(source)]))}
        for database in [d.strip() for d in args.databases.split(",") if d.strip()]:
            if database == "sqlite":
                def once() -> dict:
                    for leftover in work.glob("bench.db*"):
                        leftover.unlink()
                    return run_child(["import", str(source), f"sqlite:///{work}/bench.db"])
            elif database == "postgresql":
                url = postgres_url()

                def once() -> dict:
                    fresh_postgres(url)
                    return run_child(["import", str(source), url])
            else:
                raise SystemExit(f"unknown database {database!r}")
            results[database] = median_run(database, args.repeat, once)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    base = results["baseline"]["seconds"]
    load = os.getloadavg()[0]
    print(f"\nregistry import of {args.rows:,} rows ({bad:,} bad), median of {args.repeat}, {os.cpu_count()} CPUs, "
          f"load average {load:.1f} at the end")
    print(f"{'':<12}{'seconds':>9}{'rows/s':>12}{'peak RSS':>11}{'x baseline':>12}{'CPU s':>8}  runs (s)")
    for name, result in results.items():
        print(f"{name:<12}{result['seconds']:>9.2f}{args.rows / result['seconds']:>12,.0f}"
              f"{result['peak_rss_mib']:>8.0f} MiB{result['seconds'] / base:>12.2f}{result['cpu_seconds']:>8.1f}"
              f"  {result['all_seconds']}")
    print("(seconds: wall time of the work itself; CPU s: the whole child process, start-up included;"
          " PostgreSQL's own CPU is not in it)")
    for name, result in results.items():
        if "accepted" in result:
            print(f"{name}: {result['accepted']:,} accepted, {result['rejected']:,} rejected")


if __name__ == "__main__":
    main()
