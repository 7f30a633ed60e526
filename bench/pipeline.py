"""The whole pipeline, HTTP intake to the reporting count, against a bare Kafka relay on the same broker.

    .venv/bin/python bench/pipeline.py                    # full: 1,500 intakes, 100,000-row sheet, 10-min soak
    .venv/bin/python bench/pipeline.py --quick            # a few minutes: small sizes, no soak
    .venv/bin/python bench/pipeline.py --databases sqlite --intakes 500 --sheet-rows 0 --soak-minutes 0

One run starts its own broker (deploy/kafka/kafka.sh, port 49092, data .data/bench/kafka, reset each
run) and Keycloak (deploy/keycloak/keycloak.sh, port 48180), so neither `make run` nor the tests are
disturbed, then:
  (a) baseline: bare aiokafka relay of 4 hops (bench/pipeline_relay.py), before and after the rest;
  per database (SQLite files, PostgreSQL databases re-created by deploy/postgres/pg.sh fresh-db), on a
  Kafka namespace of its own laid down by the project's set-up, the four services as processes on
  ports 18481-18484, each logged in as its own principal:
  (b) throughput: N intakes of 4 needs POSTed 32 at a time with a clerk's token; referrals/s from the
      first POST until reporting counts them all received (GET /v1/reports/monthly), intake's own
      intakes/s, each process's CPU ms per referral (/proc utime+stime) and RSS;
  (c) latency at half of (b)'s rate, open loop: p50/p99 from each 202 to each referral counted
      (bench/pipeline_watch.py says how a referral is seen);
  (d) a sheet of one need per row through POST /v1/intakes/bulk, upload to the last referral counted;
  (e) RSS of each service every 10 s under --soak-minutes of load at (c)'s rate.
Prints every figure with its ratio to the relay's median and writes bench/results/pipeline-<time>.json.
Drives the system from outside only (HTTP, Kafka logins, processes; latency also reads reporting's
database read-only), so the same script measures the code before and after a change.
"""

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "services"), str(REPO / "bench")]

import pipeline_relay  # noqa: E402
from pipeline_figures import (cpu_ms_per_item, latency_summary, mean_batches, rate, relay_baseline,  # noqa: E402
                              report, rss_summary)
from pipeline_load import (NEEDS, Posted, Tokens, counts, intake_body, months_between, post_all,  # noqa: E402
                           post_steadily, upload_sheet, wait_counted, write_sheet)
from pipeline_profile import Profilers, profile_summary  # noqa: E402
from pipeline_stack import (Infrastructure, Services, batch_totals, cpu_ticks, database_urls, export_commit,  # noqa: E402
                            postgres_backends, rss_kb, say, start_services, ticks_per_second)
from pipeline_watch import watch_counted  # noqa: E402

IDLE_SECONDS = 10
QUICK = {"intakes": 300, "relay_messages": 20_000, "latency_seconds": 20, "sheet_rows": 1000, "soak_minutes": 0}


class Run:
    """One database's services and what the phases need to measure them."""

    def __init__(self, *, infra: Infrastructure, services: Services, urls: dict[str, str], args: argparse.Namespace,
                 tokens: Tokens, folder: Path) -> None:
        self.infra, self.services, self.urls, self.args, self.tokens = infra, services, urls, args, tokens
        self.folder = folder
        self.intake = services.by_name("intake").url
        self.reporting = services.by_name("reporting").url
        self.rng = random.Random(len(urls["intake"]) + int(time.time()))

    def _pg_databases(self) -> list[str]:
        return [url.rsplit("/", 1)[1] for url in self.urls.values() if url.startswith("postgresql")]

    def cpu(self) -> tuple[dict[str, int], dict[str, int]]:
        """CPU ticks of the services and the broker, and of each PostgreSQL backend of the bench's databases."""
        pids = self.services.pids() | ({"kafka broker": pid} if (pid := self.infra.broker_pid()) else {})
        return cpu_ticks(pids), cpu_ticks(postgres_backends(self._pg_databases()))

    def cpu_per_referral(self, before: tuple[dict, dict], after: tuple[dict, dict], referrals: int) -> dict:
        found = cpu_ms_per_item(before=before[0], after=after[0], items=referrals, ticks_per_second=ticks_per_second())
        if self._pg_databases():  # a backend that began meanwhile started from 0; one that ended is lost
            spent = sum(ticks - before[1].get(pid, 0) for pid, ticks in after[1].items())
            found |= cpu_ms_per_item(before={"postgresql backends": 0}, after={"postgresql backends": spent},
                                     items=referrals, ticks_per_second=ticks_per_second())
        return found

    async def counted(self, *, since: datetime, before: tuple[int, int], expected: int):  # noqa: ANN201
        caught = await wait_counted(url=self.reporting, tokens=self.tokens, since=since, before=before,
                                    expected=expected, timeout=max(300.0, expected / 10))
        if caught.received_at is None:
            say(f"not all counted in time: {caught.received} of {expected} received, {caught.assigned} assigned")
        return caught

    async def before(self) -> tuple[datetime, tuple[int, int]]:
        since = datetime.now(UTC)
        return since, await counts(url=self.reporting, tokens=self.tokens, months=months_between(since, since))

    async def throughput(self) -> dict:
        args = self.args
        bodies = [intake_body(rng=self.rng, needs=args.needs) for _ in range(args.intakes)]
        # What the processes spend doing nothing (timers, scans, polls), to set against the per-referral
        # figures: a short run at a low rate charges its referrals with a large share of it.
        idle_before = self.cpu()
        await asyncio.sleep(IDLE_SECONDS)
        idle = self.cpu_per_referral(idle_before, self.cpu(), IDLE_SECONDS)
        since, before = await self.before()
        cpu_before, batches_before = self.cpu(), batch_totals(self.services)
        profilers = self._profilers("profile")
        try:
            posted = await post_all(url=self.intake, tokens=self.tokens, bodies=bodies, concurrency=args.concurrency)
            expected = len(posted.accepted) * len(args.needs)
            caught = await self.counted(since=since, before=before, expected=expected)
            cpu_after, batches_after = self.cpu(), batch_totals(self.services)
        finally:
            stacks = profilers.stop() if profilers else {}
        took = (caught.received_at or time.monotonic()) - posted.first
        cpu = self.cpu_per_referral(cpu_before, cpu_after, caught.received)
        found = {"intakes": args.intakes, "accepted": len(posted.accepted), "refused": posted.refused[:5],
                 "needs_per_intake": len(args.needs), "referrals": expected, "concurrency": args.concurrency,
                 "intakes_per_s": rate(count=len(posted.accepted), seconds=posted.last - posted.first),
                 "referrals_accepted_per_s": rate(count=expected, seconds=posted.last - posted.first),
                 "assigned_seconds": (caught.assigned_at or time.monotonic()) - posted.first,
                 "assigned_per_s": rate(count=caught.assigned, seconds=(caught.assigned_at or time.monotonic())
                                       - posted.first),
                 "seconds": took, "counted": caught.received, "complete": caught.received_at is not None,
                 "referrals_per_s": rate(count=caught.received, seconds=took),
                 "cpu_ms_per_referral": cpu,
                 "mean_batch_records": mean_batches(before=batches_before, after=batches_after),
                 "idle_cpu_ms_per_s": idle, "services": list(self.services.pids()),
                 "rss_kb_after": rss_kb(self.services.pids())}
        if stacks:
            found["profile"] = profile_summary(texts=stacks, cpu_ms_per_referral=cpu)
        return found

    async def steady(self, *, per_second: float, seconds: float, watch: bool) -> tuple[Posted, dict, bool]:
        """Intakes at `per_second` for `seconds`; with `watch`, each referral's moment of being counted."""
        bodies = [intake_body(rng=self.rng, needs=self.args.needs) for _ in range(max(1, int(per_second * seconds)))]
        since, before = await self.before()
        posted = Posted()
        sending = asyncio.create_task(post_steadily(url=self.intake, tokens=self.tokens, bodies=bodies,
                                                    per_second=per_second, posted=posted))
        seen = {}
        if watch:
            seen = await watch_counted(url=self.urls["reporting"], posted=posted, per_intake=len(self.args.needs),
                                       sending=sending, interval=self.args.poll_ms / 1000, grace=120)
        await sending
        caught = await self.counted(since=since, before=before, expected=len(posted.accepted) * len(self.args.needs))
        return posted, seen, caught.received_at is not None

    async def latency(self, *, referrals_per_s: float) -> dict:
        per_second = referrals_per_s / len(self.args.needs)
        posted, seen, complete = await self.steady(per_second=per_second, seconds=self.args.latency_seconds, watch=True)
        return {"referrals_per_s_offered": referrals_per_s, "seconds": self.args.latency_seconds,
                "intakes": len(posted.accepted), "refused": len(posted.refused), "poll_ms": self.args.poll_ms,
                "complete": complete, **latency_summary(accepted=posted.accepted, counted=seen,
                                                        expected_per_intake=len(self.args.needs))}

    async def sheet(self, *, folder: Path) -> dict:
        path = folder / f"sheet-{self.args.sheet_rows}.csv"
        write_sheet(path, rows=self.args.sheet_rows)
        since, before = await self.before()
        cpu_before = self.cpu()
        profilers = self._profilers("profile-sheet")
        try:
            started, status = await upload_sheet(url=self.intake, tokens=self.tokens, sheet=path,
                                                 timeout=max(600.0, self.args.sheet_rows / 5),
                                                 progress=lambda s: say(f"sheet: {s['rows_done']} rows done"))
            caught = await self.counted(since=since, before=before, expected=status["accepted"])
            cpu_after = self.cpu()
        finally:
            stacks = profilers.stop() if profilers else {}
        seconds = (caught.received_at or time.monotonic()) - started
        cpu = self.cpu_per_referral(cpu_before, cpu_after, caught.received)
        found = {"rows": self.args.sheet_rows, "state": status["state"], "accepted": status["accepted"],
                 "refused": status["refused"], "job_seconds": status["duration_seconds"] or 0.0, "seconds": seconds,
                 "counted": caught.received, "complete": caught.received_at is not None,
                 "referrals_per_s": rate(count=caught.received, seconds=seconds), "cpu_ms_per_referral": cpu}
        if stacks:
            found["profile"] = profile_summary(texts=stacks, cpu_ms_per_referral=cpu)
        return found

    def _profilers(self, name: str) -> Profilers | None:
        """With --profile, py-spy attached to every service until stop()."""
        if not self.args.profile:
            return None
        profilers = Profilers(folder=self.folder / name)
        profilers.start(self.services.pids())
        return profilers

    async def soak(self, *, referrals_per_s: float) -> dict:
        samples: list[dict[str, int]] = []

        async def sample() -> None:
            while True:
                samples.append(rss_kb(self.services.pids()))
                await asyncio.sleep(10)

        sampler = asyncio.create_task(sample())
        try:
            posted, _seen, complete = await self.steady(per_second=referrals_per_s / len(self.args.needs),
                                                        seconds=self.args.soak_minutes * 60, watch=False)
        finally:
            sampler.cancel()
        samples.append(rss_kb(self.services.pids()))
        return {"minutes": self.args.soak_minutes, "referrals_per_s_offered": referrals_per_s,
                "intakes": len(posted.accepted), "complete": complete, "rss": rss_summary(samples),
                "samples_kb": samples}


async def one_database(infra: Infrastructure, args: argparse.Namespace, tokens: Tokens, database: str,
                       found: dict) -> None:
    """Fills `found` phase by phase, so a later phase's failure keeps the figures of the earlier ones."""
    prefix = f"bench-{database}."
    folder = args.data / database
    folder.mkdir(parents=True, exist_ok=True)
    say(f"{database}: namespace {prefix}, fresh databases, services on {args.first_port}-{args.first_port + 3}")
    infra.provision(prefix=prefix, partitions=args.partitions)
    urls = database_urls(database=database, folder=folder)
    services = start_services(infra, prefix=prefix, partitions=args.partitions, urls=urls, folder=folder,
                              first_port=args.first_port)
    run = Run(infra=infra, services=services, urls=urls, args=args, tokens=tokens, folder=folder)
    try:
        say(f"{database}: throughput, {args.intakes} intakes")
        found["pipeline"] = await run.throughput()
        half = found["pipeline"]["referrals_per_s"] / 2
        if args.latency_seconds > 0 and half > 0:
            say(f"{database}: latency at {half:.1f} referrals/s for {args.latency_seconds} s")
            found["latency"] = await run.latency(referrals_per_s=half)
        if args.sheet_rows > 0 and database in args.sheet_databases:
            say(f"{database}: bulk sheet of {args.sheet_rows} rows")
            found["sheet"] = await run.sheet(folder=folder)
        if args.soak_minutes > 0 and half > 0:
            say(f"{database}: {args.soak_minutes} min soak at {half:.1f} referrals/s")
            found["soak"] = await run.soak(referrals_per_s=half)
    finally:
        services.stop()
        from shared.kafka.provision import SetupSettings, remove_namespace
        from shared.kafka.topology import SETUP_PRINCIPAL
        remove_namespace(SetupSettings(secrets_dir=infra.kafka_dir / "secrets",
                                       kafka=infra.login(SETUP_PRINCIPAL, prefix=prefix)))


def _code(args: argparse.Namespace) -> dict:
    if args.commit:
        return {"commit": args.commit, "code": "clean export of the commit (git archive)"}

    def git(*command: str) -> str:
        return subprocess.run(["git", *command], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()
    # The services run from the working tree: changes not yet committed are measured too, and said so.
    changed = len(git("status", "--porcelain", "--", "services", "shared").splitlines())
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "code": f"working tree, {changed} uncommitted file(s) in services/ and shared/"}


async def bench(args: argparse.Namespace) -> dict:
    code = export_commit(commit=args.commit, data=args.data) if args.commit else REPO
    if args.commit:
        args.commit = code.name.removeprefix("code-")
    infra = Infrastructure(data=args.data, kafka_port=args.kafka_port, keycloak_port=args.keycloak_port, code=code)
    load = os.getloadavg()
    result = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"), "options": {
        key: (str(value) if isinstance(value, Path) else value) for key, value in vars(args).items()},
        "databases": {}}
    relay = {"hops": args.relay_hops, "messages": args.relay_messages, "payload_bytes": args.payload_bytes, "runs": []}
    result["relay"] = relay
    try:
        infra.start()
        tokens = Tokens(issuer=infra.issuer)

        async def measure_relay(when: str) -> None:
            say(f"baseline {when}: relay of {args.relay_messages} messages over {args.relay_hops} hops")
            found = await pipeline_relay.measure(infra, messages=args.relay_messages, hops=args.relay_hops,
                                                 payload_bytes=args.payload_bytes, partitions=args.partitions)
            relay["runs"].append({"when": when, **found})
            say(f"baseline {when}: {found['messages_per_s']:,.0f} messages/s")

        # Untimed: a fresh broker creates __consumer_offsets on the first commit (seconds).
        await pipeline_relay.measure(infra, messages=200, hops=args.relay_hops, payload_bytes=args.payload_bytes,
                                     partitions=args.partitions)
        await measure_relay("before")
        for database in args.databases:
            found = result["databases"][database] = {}
            try:
                await one_database(infra, args, tokens, database, found)
            except (Exception, SystemExit) as exc:  # a failure must not lose the figures measured before it
                say(f"{database} failed: {type(exc).__name__}: {exc}")
                found["error"] = f"{type(exc).__name__}: {exc}"
        await measure_relay("after")
    finally:
        infra.stop()
    relay["median_messages_per_s"] = relay_baseline([run["messages_per_s"] for run in relay["runs"]])
    result["machine"] = {"nproc": os.cpu_count(), "load_before": [round(x, 2) for x in load],
                         "load_after": [round(x, 2) for x in os.getloadavg()], **_code(args)}
    return result


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    from shared.settings import KafkaSettings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"small sizes, no soak: {QUICK}")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--intakes", type=int, default=1500)
    parser.add_argument("--needs", default=",".join(NEEDS))
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--relay-messages", type=int, default=100_000)
    parser.add_argument("--relay-hops", type=int, default=4)
    parser.add_argument("--payload-bytes", type=int, default=1024, help="about an intake.submitted event's size")
    parser.add_argument("--latency-seconds", type=float, default=60)
    parser.add_argument("--poll-ms", type=float, default=50, help="latency: how often reporting's database is read")
    parser.add_argument("--sheet-rows", type=int, default=100_000)
    parser.add_argument("--sheet-databases", default="postgresql,sqlite")
    parser.add_argument("--soak-minutes", type=float, default=10)
    parser.add_argument("--partitions", type=int, default=KafkaSettings().partitions,
                        help="of every topic, the services' and the relay's (default: the project's)")
    parser.add_argument("--kafka-port", type=int, default=49092)
    parser.add_argument("--keycloak-port", type=int, default=48180)
    parser.add_argument("--first-port", type=int, default=18481)
    parser.add_argument("--profile", action="store_true",
                        help="py-spy each service during the throughput phase: a CPU budget per step (bench extra)")
    parser.add_argument("--commit", help="measure this commit's services (a clean export), not the working tree")
    parser.add_argument("--data", type=Path, default=REPO / ".data" / "bench")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            if parser.get_default(key) == getattr(args, key):
                setattr(args, key, value)
    args.databases = [d for d in args.databases.split(",") if d]
    args.sheet_databases = [d for d in args.sheet_databases.split(",") if d]
    args.needs = tuple(n for n in args.needs.split(",") if n)
    return args


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> None:
    # Ctrl-C and SIGTERM stop the services, the broker and Keycloak (the finally blocks); asyncio's own
    # SIGINT handling only cancels the main task, which a task waiting on a child process may not see.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    args = parse(argv)
    result = asyncio.run(bench(args))
    print()
    for line in report(result):
        print(line)
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"pipeline-{result['started_at'].replace(':', '')[:17]}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"\nwritten: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


if __name__ == "__main__":
    main()
