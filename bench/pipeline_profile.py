"""Where each service's CPU goes: py-spy samples of every service during the throughput phase,
turned into a per-referral budget (milliseconds per service and per step).

`bench/pipeline.py --profile` attaches `py-spy record` (raw, folded stacks) to each service for the
throughput phase only. A sample is a stack of a thread that was running; a stack is charged to the
step of the innermost frame that belongs to a known library or to the project, so the stdlib helpers
a library calls (typing, enum, copy) count to that library. The shares of samples, times the CPU
milliseconds per referral that /proc measured for the same phase, give the budget.

The arithmetic is pure and unit-tested (tests/unit/test_bench_pipeline.py); `Profilers` is the I/O.
"""

import linecache
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Top-level module of a frame's file -> the step it is charged to.
STEPS = {
    "sqlalchemy": "SQLAlchemy", "sqlmodel": "SQLAlchemy",
    "aiosqlite": "database driver", "sqlite3": "database driver", "asyncpg": "database driver",
    "pydantic": "pydantic", "pydantic_core": "pydantic",
    "aiokafka": "aiokafka", "kafka": "aiokafka", "cramjam": "aiokafka",
    "faststream": "FastStream", "fast_depends": "FastStream",
    "json": "json", "orjson": "json",
    "logging": "logging",
    "uvicorn": "HTTP server", "starlette": "HTTP server", "fastapi": "HTTP server", "h11": "HTTP server",
    "httptools": "HTTP server", "anyio": "HTTP server", "multipart": "HTTP server",
    "jwt": "tokens", "cryptography": "tokens",
    "prometheus_client": "metrics",
    "asyncio": "event loop", "selectors": "event loop", "socket": "event loop", "ssl": "event loop",
    "threading": "event loop", "concurrent": "event loop",
}
OWN = {"shared", "intake", "routing", "agency_adapters", "reporting"}
OTHER = "other"
# Leaves where a thread waits, not works. py-spy is told to leave idle threads out, yet here it keeps
# samples of an event loop in epoll and of aiosqlite's worker blocked on its queue; left in, they
# made up a third of the samples and would be charged as CPU.
WAITING = {("selectors", "EpollSelector.select"), ("selectors", "PollSelector.select"),
           ("threading", "Condition.wait"), ("threading", "Event.wait"), ("queue", "Queue.get")}


def module_of(frame: str) -> str:
    """'route_batch (routing/handlers.py:42)' -> 'routing'; 'dumps (json/__init__.py:231)' -> 'json'."""
    start = frame.rfind(" (")
    if start < 0 or not frame.endswith(")"):
        return ""
    path = frame[start + 2:-1].rsplit(":", 1)[0]
    first = path.replace("\\", "/").lstrip("/").split("/", 1)[0]
    return first.removesuffix(".py")


def is_waiting(leaf: str) -> bool:
    function = leaf[:leaf.rfind(" (")]
    if (module_of(leaf), function) in WAITING:
        return True
    # aiosqlite's worker thread: the leaf is the line of `tx.get()` when it waits for work, and the line
    # of `function()` when SQLite works (sqlite3's C code has no Python frame of its own).
    return function == "_connection_worker_thread" and ".get(" in _source_line(leaf)


def _source_line(frame: str) -> str:
    path, _, line = frame[frame.rfind(" (") + 2:-1].rpartition(":")
    for root in map(Path, sys.path):
        if line.isdigit() and (root / path).is_file():
            return linecache.getline(str(root / path), int(line))
    return ""


def step_of(stack: list[str]) -> str:
    for frame in reversed(stack):
        module = module_of(frame)
        if module in STEPS:
            return STEPS[module]
        if module in OWN:
            return "own code"
    return OTHER


def own_function(frame: str) -> str | None:
    module = module_of(frame)
    return frame if module in OWN else None


def parse_folded(text: str) -> Iterator[tuple[list[str], int]]:
    """py-spy's raw format: 'frame;frame;...;leaf <count>' per line, outermost frame first."""
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            yield stack.split(";"), int(count)


def working(text: str) -> Iterator[tuple[list[str], int]]:
    for stack, count in parse_folded(text):
        if stack and not is_waiting(stack[-1]):
            yield stack, count


def steps_of(text: str) -> Counter[str]:
    found: Counter[str] = Counter()
    for stack, count in working(text):
        found[step_of(stack)] += count
    return found


def own_functions(text: str) -> Counter[str]:
    """Samples charged to the innermost project function of each stack: the call site in our code that
    spent them (whatever library did the work below it). Stacks with no project frame (a database
    worker thread, the event loop itself) are left out."""
    found: Counter[str] = Counter()
    for stack, count in working(text):
        own = [frame for frame in stack if own_function(frame)]
        if own:
            found[own[-1].rsplit(":", 1)[0] + ")"] += count
    return found


def budget(*, cpu_ms_per_referral: Mapping[str, float], samples: Mapping[str, Counter[str]]) -> dict[str, dict]:
    """Per service: {step: ms per referral}, the measured CPU split by the shares of its samples."""
    out: dict[str, dict] = {}
    for service, counts in samples.items():
        total = sum(counts.values())
        if total == 0 or service not in cpu_ms_per_referral:
            continue
        cpu = cpu_ms_per_referral[service]
        out[service] = {step: cpu * n / total for step, n in counts.most_common()}
    return out


def budget_lines(table: Mapping[str, Mapping[str, float]], *,
                 top: Mapping[str, Iterable[tuple[str, float]]] | None = None) -> Iterator[str]:
    """A table, steps down and services across, in ms per referral, with each service's own hottest functions."""
    services = list(table)
    steps = sorted({s for row in table.values() for s in row}, key=lambda s: -sum(r.get(s, 0) for r in table.values()))
    yield "    " + f"{'ms per referral':22}" + "".join(f"{name:>17}" for name in services) + f"{'all':>9}"
    for step in steps:
        cells = [table[name].get(step, 0.0) for name in services]
        yield "    " + f"{step:22}" + "".join(f"{c:17.3f}" for c in cells) + f"{sum(cells):9.3f}"
    totals = [sum(table[name].values()) for name in services]
    yield "    " + f"{'total':22}" + "".join(f"{c:17.3f}" for c in totals) + f"{sum(totals):9.3f}"
    for name, functions in (top or {}).items():
        listed = ", ".join(f"{fn} {share:.0%}" for fn, share in functions)
        if listed:
            yield f"    {name} hottest call sites in own code (share of its samples): {listed}"


def hottest(text: str, *, count: int = 5) -> list[tuple[str, float]]:
    total = sum(n for _stack, n in working(text))
    if not total:
        return []
    return [(fn, n / total) for fn, n in own_functions(text).most_common(count)]


@dataclass
class Profilers:
    """py-spy recorders attached to running services; stop() leaves one folded-stack file per service."""

    folder: Path
    rate: int = 200
    running: dict[str, tuple[subprocess.Popen, Path]] = field(default_factory=dict)

    @staticmethod
    def available() -> str | None:
        return shutil.which("py-spy", path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")

    def start(self, pids: Mapping[str, int]) -> None:
        spy = self.available()
        if spy is None:
            raise SystemExit("--profile needs py-spy: pip install -e '.[bench]'")
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, pid in pids.items():
            out = self.folder / f"{name}.folded"
            # --nonblocking: sampling must not pause the service it measures.
            process = subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", str(self.rate), "--format", "raw",
                                        "--nonblocking", "--output", str(out)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.running[name] = (process, out)

    def stop(self) -> dict[str, str]:
        texts = {}
        for name, (process, out) in self.running.items():
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            texts[name] = out.read_text() if out.exists() else ""
        self.running.clear()
        return texts


def profile_summary(*, texts: Mapping[str, str], cpu_ms_per_referral: Mapping[str, float]) -> dict:
    samples = {name: steps_of(text) for name, text in texts.items()}
    return {"samples": {name: sum(c.values()) for name, c in samples.items()},
            "budget_ms_per_referral": budget(cpu_ms_per_referral=cpu_ms_per_referral, samples=samples),
            "hottest_own_code": {name: hottest(text) for name, text in texts.items()}}


def main() -> None:
    """Re-read the folded stacks a run left (.data/bench/<database>/profile) against its results file."""
    import argparse
    import json
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("results", type=Path, help="bench/results/pipeline-<time>.json")
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--stacks", type=Path, help="default: .data/bench/<database>/profile")
    args = parser.parse_args()
    pipe = json.loads(args.results.read_text())["databases"][args.database]["pipeline"]
    folder = args.stacks or Path(__file__).resolve().parents[1] / ".data" / "bench" / args.database / "profile"
    texts = {path.stem: path.read_text() for path in sorted(folder.glob("*.folded"))}
    profile = profile_summary(texts=texts, cpu_ms_per_referral=pipe["cpu_ms_per_referral"])
    for line in budget_lines(profile["budget_ms_per_referral"], top=profile["hottest_own_code"]):
        print(line)


if __name__ == "__main__":
    main()
