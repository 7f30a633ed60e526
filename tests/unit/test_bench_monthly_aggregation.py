"""The monthly-aggregation benchmark's whole code path on 2,000 facts (SQLite), so it never
rots between the occasions someone runs it at 1,000,000."""

import importlib.util
from pathlib import Path

from tests.support.infrastructure import REPO

_spec = importlib.util.spec_from_file_location("monthly_aggregation", REPO / "bench" / "monthly_aggregation.py")
assert _spec and _spec.loader
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_the_benchmark_runs_on_a_few_thousand_facts(tmp_path: Path):
    results = bench.bench(rows=2000, repeat=1, databases=["sqlite"], work=tmp_path, log=lambda _line: None)

    timed = results["sqlite"]
    assert timed["rows in the province fiscal year"] > timed["rows in the province month"] > 0
    assert timed["rollups agree with the facts"] is True
    assert all(value["seconds"] > 0 for value in timed.values() if isinstance(value, dict))
    lines = list(bench.report(results, rows=2000, repeat=1, databases=["sqlite"]))
    assert any("SP-12 org unit month" in line for line in lines)
