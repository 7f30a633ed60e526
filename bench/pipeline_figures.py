"""The pipeline benchmark's arithmetic and its report: pure functions, no I/O, unit-tested
(tests/unit/test_bench_pipeline.py), so the figures it prints can be trusted apart from the
machinery that measures them (bench/pipeline.py)."""

import math
import statistics
from collections.abc import Iterable, Iterator, Mapping

from pipeline_profile import budget_lines


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0-100), linear between the closest ranks (numpy's default method)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of nothing")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0-100, got {q}")
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rate(*, count: int, seconds: float) -> float:
    """Items per second; 0 when nothing was timed (a phase that did not run)."""
    return count / seconds if seconds > 0 else 0.0


def ratio(*, value: float, baseline: float) -> float | None:
    return value / baseline if baseline > 0 else None


def cpu_ms_per_item(*, before: Mapping[str, int], after: Mapping[str, int], items: int,
                    ticks_per_second: int) -> dict[str, float]:
    """CPU milliseconds per item of each process, from utime+stime clock ticks read before and after
    (/proc/<pid>/stat); a process missing on either side is left out rather than guessed."""
    if items <= 0:
        return {}
    return {name: (after[name] - before[name]) * 1000 / ticks_per_second / items
            for name in before if name in after}


def latency_summary(*, accepted: Mapping[str, float], counted: Mapping[str, tuple[str, float]],
                    expected_per_intake: int, window_s: float = 5.0) -> dict:
    """From each intake's 202 (accepted: intake_id -> monotonic seconds) to each of its referrals
    being seen counted (counted: referral_id -> (intake_id, monotonic seconds)); milliseconds.
    `windows`: [start s, p99 ms, referrals] per `window_s` of 202s, so that a tail made by a few
    stalls (a scan, a close, the machine's other load) shows apart from one every referral has."""
    timed = [(accepted[intake_id], (seen - accepted[intake_id]) * 1000)
             for intake_id, seen in counted.values() if intake_id in accepted]
    latencies = [latency for _, latency in timed]
    expected = len(accepted) * expected_per_intake
    summary = {"referrals": len(latencies), "expected": expected, "missing": expected - len(latencies)}
    if latencies:
        summary |= {"p50_ms": percentile(latencies, 50), "p90_ms": percentile(latencies, 90),
                    "p99_ms": percentile(latencies, 99), "max_ms": max(latencies)}
        first = min(accepted.values())
        by_window: dict[int, list[float]] = {}
        for sent, latency in timed:
            by_window.setdefault(int((sent - first) // window_s), []).append(latency)
        summary["windows"] = [[index * window_s, percentile(values, 99), len(values)]
                              for index, values in sorted(by_window.items())]
    return summary


def rss_summary(samples: Iterable[Mapping[str, int]]) -> dict[str, dict[str, float]]:
    """Per process: first, last and largest RSS (MiB) of samples taken in order (name -> kB)."""
    by_name: dict[str, list[int]] = {}
    for sample in samples:
        for name, kilobytes in sample.items():
            by_name.setdefault(name, []).append(kilobytes)
    return {name: {"first_mib": values[0] / 1024, "last_mib": values[-1] / 1024, "max_mib": max(values) / 1024,
                   "samples": len(values)} for name, values in by_name.items()}


def mean_batches(*, before: Mapping[str, tuple[float, float]], after: Mapping[str, tuple[float, float]]
                 ) -> dict[str, float]:
    """Mean records per batch of each consumer group between two readings of (batches, records)."""
    means = {}
    for group, (batches, records) in after.items():
        done = batches - before.get(group, (0.0, 0.0))[0]
        if done > 0:
            means[group] = (records - before.get(group, (0.0, 0.0))[1]) / done
    return means


def relay_baseline(runs: list[float]) -> float:
    """The bare relay's messages/s to compare against: the median of the runs around the pipeline."""
    return statistics.median(runs) if runs else 0.0


def parse_proc_stat(text: str) -> int:
    """utime + stime (clock ticks) from the text of /proc/<pid>/stat. The command name (field 2) is in
    parentheses and may hold spaces or parentheses itself, so fields are counted after the last ')'."""
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5), counted from field 3


def parse_vm_rss(text: str) -> int:
    """VmRSS in kB from the text of /proc/<pid>/status (0 for a process that has none, e.g. a zombie)."""
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# ---------------------------------------------------------------- report --


def _x(value: float, baseline: float) -> str:
    found = ratio(value=value, baseline=baseline)
    return f"{found:.3f}x" if found is not None else "-"


def report(result: Mapping) -> Iterator[str]:
    """The lines bench/pipeline.py prints: every figure with its ratio to the bare relay."""
    machine = result["machine"]
    yield (f"machine: {machine['nproc']} cores, load average {machine['load_before']} before, "
           f"{machine['load_after']} after; commit {machine['commit']} ({machine['code']}); {result['started_at']}")
    relay = result["relay"]
    baseline = relay["median_messages_per_s"]
    runs = ", ".join(f"{run['messages_per_s']:,.0f}" for run in relay["runs"])
    yield (f"baseline: bare aiokafka relay, {relay['hops']} hops, {relay['messages']:,} messages of "
           f"{relay['payload_bytes']} B: {runs} messages/s (median {baseline:,.0f})")
    for database, found in result["databases"].items():
        yield f"-- {database}"
        if "error" in found:
            yield f"    failed: {found['error']}"
        if "pipeline" in found:
            yield from _pipeline_lines(found["pipeline"], baseline)
        if "latency" in found:
            lat = found["latency"]
            head = (f"latency at {lat['referrals_per_s_offered']:.1f} referrals/s offered "
                    f"({lat['intakes']} intakes over {lat['seconds']:.0f} s, poll every {lat['poll_ms']:.0f} ms): ")
            if lat["referrals"]:
                yield head + (f"p50 {lat['p50_ms']:,.0f} ms, p90 {lat['p90_ms']:,.0f} ms, p99 {lat['p99_ms']:,.0f} ms, "
                              f"max {lat['max_ms']:,.0f} ms; {lat['missing']} of {lat['expected']} not seen")
                if lat.get("windows"):
                    yield "    " + _window_line(lat["windows"])
            else:
                yield head + f"no referral seen counted ({lat['expected']} expected)"
        if "sheet" in found:
            sheet = found["sheet"]
            yield (f"bulk sheet {sheet['rows']:,} rows: job {sheet['job_seconds']:.1f} s "
                   f"({rate(count=sheet['accepted'], seconds=sheet['job_seconds']):,.1f} rows/s), upload to last "
                   f"counted {sheet['seconds']:.1f} s = {sheet['referrals_per_s']:,.1f} referrals/s "
                   f"({_x(sheet['referrals_per_s'], baseline)})")
            yield "    CPU ms per referral: " + ", ".join(f"{name} {ms:.2f}" for name, ms in sheet.get("cpu_ms_per_referral", {}).items())
            yield from _profile_lines(sheet)
        if "soak" in found:
            soak = found["soak"]
            yield (f"RSS under {soak['minutes']:.1f} min of load at {soak['referrals_per_s_offered']:.1f} referrals/s "
                   f"(MiB first/last/max):")
            for name, rss in soak["rss"].items():
                yield f"    {name:16} {rss['first_mib']:7.1f} {rss['last_mib']:7.1f} {rss['max_mib']:7.1f}"


def _pipeline_lines(pipe: Mapping, baseline: float) -> Iterator[str]:
    yield (f"pipeline: {pipe['intakes']:,} intakes x {pipe['needs_per_intake']} needs = {pipe['referrals']:,} "
           f"referrals, {pipe['concurrency']} at a time")
    yield (f"    intake accepted {pipe['intakes_per_s']:,.1f} intakes/s "
           f"({pipe['referrals_accepted_per_s']:,.1f} referrals/s, {_x(pipe['referrals_accepted_per_s'], baseline)})")
    yield (f"    all counted under their agency (routing's hop) after {pipe['assigned_seconds']:.1f} s: "
           f"{pipe['assigned_per_s']:,.1f} referrals/s ({_x(pipe['assigned_per_s'], baseline)})")
    yield (f"    all counted received (the whole path) after {pipe['seconds']:.1f} s: "
           f"{pipe['referrals_per_s']:,.1f} referrals/s ({_x(pipe['referrals_per_s'], baseline)})")
    cpu = pipe["cpu_ms_per_referral"]
    services = {name: value for name, value in cpu.items() if name in pipe["services"]}
    yield (f"    service CPU {sum(services.values()):.2f} ms/referral: "
           + ", ".join(f"{name} {value:.2f}" for name, value in services.items()))
    if idle := pipe.get("idle_cpu_ms_per_s"):
        yield ("    idle CPU just before, ms per second (x the run's seconds / referrals to set against the above): "
               + ", ".join(f"{name} {value:.1f}" for name, value in idle.items()))
    others = {name: value for name, value in cpu.items() if name not in pipe["services"]}
    if others:
        yield "    outside the services: " + ", ".join(f"{name} {value:.2f} ms" for name, value in others.items())
    yield "    RSS after (MiB): " + ", ".join(f"{name} {kb / 1024:.0f}" for name, kb in pipe["rss_kb_after"].items())
    if batches := pipe.get("mean_batch_records"):
        yield "    mean records per batch: " + ", ".join(f"{group} {n:.1f}" for group, n in sorted(batches.items()))
    yield from _profile_lines(pipe)


def _profile_lines(phase: Mapping) -> Iterator[str]:
    if profile := phase.get("profile"):
        yield ("    CPU budget by step (py-spy samples: "
               + ", ".join(f"{name} {n:,}" for name, n in profile["samples"].items()) + "):")
        yield from budget_lines(profile["budget_ms_per_referral"], top=profile["hottest_own_code"])


def _window_line(windows: list[list[float]]) -> str:
    """'p99 per 5 s of sending: median 420 ms, worst 1,035 ms (from 35 s), 3 of 12 windows over 500 ms'."""
    p99s = [p99 for _, p99, _ in windows]
    worst = max(windows, key=lambda window: window[1])
    width = windows[1][0] - windows[0][0] if len(windows) > 1 else 0
    over = sum(p99 > 500 for p99 in p99s)
    return (f"p99 per {width:.0f} s of sending: median {statistics.median(p99s):,.0f} ms, worst {worst[1]:,.0f} ms "
            f"(from {worst[0]:.0f} s), {over} of {len(windows)} windows over 500 ms")
