"""The pipeline benchmark's arithmetic and report (bench/pipeline_figures.py): the figures it
prints must mean what they say, whatever the machine measured. The measuring itself needs a broker,
Keycloak and the services, and is run by hand (bench/README.md)."""

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.support.infrastructure import REPO

sys.path.insert(0, str(REPO / "bench"))  # the bench's modules import each other by name
_spec = importlib.util.spec_from_file_location("pipeline_figures", REPO / "bench" / "pipeline_figures.py")
assert _spec and _spec.loader
figures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(figures)


def test_percentiles_interpolate_between_ranks_as_numpy_does():
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert figures.percentile(values, 50) == 30.0
    assert figures.percentile(values, 0) == 10.0 and figures.percentile(values, 100) == 50.0
    assert figures.percentile(values, 90) == pytest.approx(46.0)
    assert figures.percentile(reversed(values), 25) == 20.0  # order of the input does not matter
    assert figures.percentile(list(range(1, 101)), 99) == pytest.approx(99.01)
    with pytest.raises(ValueError):
        figures.percentile([], 50)
    with pytest.raises(ValueError):
        figures.percentile(values, 101)


def test_rates_and_ratios_say_nothing_rather_than_divide_by_zero():
    assert figures.rate(count=6000, seconds=60) == 100.0
    assert figures.rate(count=10, seconds=0) == 0.0
    assert figures.ratio(value=100.0, baseline=6400.0) == pytest.approx(0.015625)
    assert figures.ratio(value=100.0, baseline=0) is None
    assert figures.relay_baseline([6208.0, 6454.0]) == 6331.0
    assert figures.relay_baseline([]) == 0.0


def test_cpu_per_item_from_clock_ticks_leaves_out_a_process_not_read_on_both_sides():
    before = {"intake": 1000, "routing": 500, "gone": 7}
    after = {"intake": 1540, "routing": 686, "new": 3}
    found = figures.cpu_ms_per_item(before=before, after=after, items=6000, ticks_per_second=100)
    assert found == {"intake": pytest.approx(0.9), "routing": pytest.approx(0.31)}
    assert figures.cpu_ms_per_item(before=before, after=after, items=0, ticks_per_second=100) == {}


def test_latency_pairs_each_referral_with_its_own_intakes_202():
    accepted = {"i1": 10.0, "i2": 10.5, "i3": 11.0}
    counted = {"r1a": ("i1", 10.1), "r1b": ("i1", 10.3), "r2a": ("i2", 11.5), "r2b": ("i2", 10.7),
               "stranger": ("other", 99.0)}  # an intake of another phase: not ours, not counted
    summary = figures.latency_summary(accepted=accepted, counted=counted, expected_per_intake=2)
    assert (summary["referrals"], summary["expected"], summary["missing"]) == (4, 6, 2)
    assert summary["p50_ms"] == pytest.approx(250.0)
    assert summary["max_ms"] == pytest.approx(1000.0)
    assert summary["p99_ms"] == pytest.approx(figures.percentile([100, 300, 1000, 200], 99))
    nothing = figures.latency_summary(accepted=accepted, counted={}, expected_per_intake=4)
    assert nothing == {"referrals": 0, "expected": 12, "missing": 12}


def test_latency_windows_show_a_stall_apart_from_a_steady_tail():
    # 20 intakes a second for 20 s, each counted 100 ms later, but those sent in seconds 10-15 waited 2 s.
    accepted = {f"i{n}": n / 20 for n in range(400)}
    counted = {f"r{n}": (f"i{n}", n / 20 + (2.0 if 10 <= n / 20 < 15 else 0.1)) for n in range(400)}
    summary = figures.latency_summary(accepted=accepted, counted=counted, expected_per_intake=1, window_s=5)
    assert [(start, round(p99), count) for start, p99, count in summary["windows"]] == [
        (0, 100, 100), (5, 100, 100), (10, 2000, 100), (15, 100, 100)]
    line = figures._window_line(summary["windows"])
    assert line == "p99 per 5 s of sending: median 100 ms, worst 2,000 ms (from 10 s), 1 of 4 windows over 500 ms"


def test_rss_summary_keeps_first_last_and_largest_sample_of_each_process():
    samples = [{"intake": 102400, "routing": 51200}, {"intake": 204800, "routing": 51200}, {"intake": 153600}]
    summary = figures.rss_summary(samples)
    assert summary["intake"] == {"first_mib": 100.0, "last_mib": 150.0, "max_mib": 200.0, "samples": 3}
    assert summary["routing"] == {"first_mib": 50.0, "last_mib": 50.0, "max_mib": 50.0, "samples": 2}


def test_proc_parsers_read_cpu_and_rss_even_from_an_awkward_command_name():
    # comm may hold spaces and ')' itself; utime and stime are fields 14 and 15 of proc(5).
    stat = "4242 (python -m (x)) S 1 4242 4242 0 -1 4194560 9000 0 3 0 1234 567 0 0 20 0 5 0 777 0 0"
    assert figures.parse_proc_stat(stat) == 1234 + 567
    status = "Name:\tpython\nVmPeak:\t  900000 kB\nVmRSS:\t  123456 kB\nThreads:\t5\n"
    assert figures.parse_vm_rss(status) == 123456
    assert figures.parse_vm_rss("Name:\tzombie\nState:\tZ (zombie)\n") == 0


def _result() -> dict:
    pipeline = {"intakes": 1500, "needs_per_intake": 4, "referrals": 6000, "concurrency": 32, "intakes_per_s": 49.0,
                "referrals_accepted_per_s": 196.0, "assigned_seconds": 50.0, "assigned_per_s": 120.0, "seconds": 64.0,
                "referrals_per_s": 93.75, "services": ["reporting", "intake"],
                "cpu_ms_per_referral": {"reporting": 8.5, "intake": 9.0, "kafka broker": 1.5},
                "idle_cpu_ms_per_s": {"reporting": 12.0, "intake": 3.0, "kafka broker": 20.0},
                "rss_kb_after": {"reporting": 204800, "intake": 153600}}
    latency = {"referrals_per_s_offered": 46.9, "seconds": 60, "intakes": 703, "poll_ms": 50, "referrals": 2812,
               "expected": 2812, "missing": 0, "p50_ms": 150.0, "p90_ms": 300.0, "p99_ms": 480.0,
               "max_ms": 900.0}
    sheet = {"rows": 100_000, "accepted": 100_000, "job_seconds": 100.0, "seconds": 170.0, "referrals_per_s": 588.2}
    soak = {"minutes": 10, "referrals_per_s_offered": 46.9,
            "rss": {"intake": {"first_mib": 150.0, "last_mib": 151.0, "max_mib": 155.0, "samples": 61}}}
    return {"started_at": "2026-11-30T08:00:00+00:00",
            "machine": {"nproc": 2, "load_before": [1.0, 1.2, 1.4], "load_after": [2.0, 1.5, 1.4],
                        "commit": "abc1234", "code": "working tree"},
            "relay": {"hops": 4, "messages": 100_000, "payload_bytes": 1024, "median_messages_per_s": 6250.0,
                      "runs": [{"messages_per_s": 6000.0}, {"messages_per_s": 6500.0}]},
            "databases": {"sqlite": {"pipeline": pipeline, "latency": latency, "sheet": sheet, "soak": soak},
                          "postgresql": {"error": "SystemExit: routing exited (1)"}}}


def test_the_report_prints_each_figure_with_its_ratio_to_the_relay():
    lines = list(figures.report(_result()))
    text = "\n".join(lines)
    assert "6,000, 6,500 messages/s (median 6,250)" in text
    assert "93.8 referrals/s (0.015x)" in text  # 93.75 / 6250
    assert "intake accepted 49.0 intakes/s (196.0 referrals/s, 0.031x)" in text
    assert "service CPU 17.50 ms/referral: reporting 8.50, intake 9.00" in text
    assert "outside the services: kafka broker 1.50 ms" in text
    assert "reporting 12.0, intake 3.0, kafka broker 20.0" in text
    assert "p99 480 ms" in text and "0 of 2812 not seen" in text
    assert "upload to last counted 170.0 s = 588.2 referrals/s (0.094x)" in text
    assert any(line.split()[:4] == ["intake", "150.0", "151.0", "155.0"] for line in lines)
    assert "failed: SystemExit: routing exited (1)" in text
    assert "load average [1.0, 1.2, 1.4] before" in text


def test_the_cpu_budget_charges_each_sample_to_its_step_and_leaves_waiting_threads_out():
    import aiosqlite.core
    import pipeline_profile as profile

    # aiosqlite's worker thread waits on `tx.get()` and works on `function()` a few lines below.
    source = Path(aiosqlite.core.__file__).read_text().splitlines()
    waits = next(n for n, line in enumerate(source, 1) if "tx.get()" in line)
    assert "function()" in source[waits + 3]
    loop = "run_forever (asyncio/base_events.py:608);_run_once (asyncio/base_events.py:1884)"
    folded = "\n".join([
        f"{loop};EpollSelector.select (selectors.py:468) 50",  # the event loop waiting: not CPU
        f"{loop};Handle._run (asyncio/events.py:84);route_batch (routing/handlers.py:40);"
        "BaseModel.model_dump_json (pydantic/main.py:477) 20",
        f"{loop};Handle._run (asyncio/events.py:84);route_batch (routing/handlers.py:40);"
        "stage (shared/db/staged.py:37);Session.execute (sqlalchemy/orm/session.py:2300);"
        "_GenericAlias.__hash__ (typing.py:1300) 10",  # a stdlib helper counts to the library calling it
        f"{loop};Handle._run (asyncio/events.py:84) 10",
        f"Thread.run (threading.py:982);_connection_worker_thread (aiosqlite/core.py:{waits + 4}) 10",  # SQLite
        f"Thread.run (threading.py:982);_connection_worker_thread (aiosqlite/core.py:{waits}) 40",  # its queue
        "garbled line without a count",
    ])
    steps = profile.steps_of(folded)
    assert steps == {"pydantic": 20, "SQLAlchemy": 10, "event loop": 10, "database driver": 10}
    assert profile.budget(cpu_ms_per_referral={"routing": 1.0, "intake": 2.0}, samples={"routing": steps}) == {
        "routing": {"pydantic": 0.4, "SQLAlchemy": 0.2, "event loop": 0.2, "database driver": 0.2}}
    assert profile.hottest(folded, count=2) == [("route_batch (routing/handlers.py)", 0.4),
                                                 ("stage (shared/db/staged.py)", 0.2)]
    lines = list(profile.budget_lines({"routing": {"pydantic": 0.4, "SQLAlchemy": 0.2}}))
    assert lines[-1].split() == ["total", "0.600", "0.600"]
