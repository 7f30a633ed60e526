"""Every metric the services export is documented in deploy/prometheus/METRICS.md, and every
row there is exported by something, so the table the alerts and dashboards are written from
cannot drift from the code again.

Declared metrics come from four places: the prometheus_client constructors in services/ and
shared/ (found in the source, so a metric added anywhere is seen without running its service),
FastStream's broker metrics (a library's, so read from a broker built as the services build
theirs), the ops scan's families (built from a snapshot, since their names pass through a
helper), and the delivery channels' (built from each DeliveryChannel declared in the source, whose
metric prefix names them)."""

import ast
import re
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry

from reporting.ops.collector import snapshot_metrics
from reporting.ops.domain import PartitionLag, QueueSnapshot
from shared.delivery.loop import DeliveryChannel, DeliveryMetrics
from shared.kafka import build_broker

REPO = Path(__file__).resolve().parents[2]
METRICS_MD = REPO / "deploy" / "prometheus" / "METRICS.md"
CONSTRUCTORS = {
    "Counter": "counter", "Gauge": "gauge", "Histogram": "histogram", "Summary": "summary", "Info": "info",
    "Enum": "stateset", "CounterMetricFamily": "counter", "GaugeMetricFamily": "gauge",
    "HistogramMetricFamily": "histogram", "SummaryMetricFamily": "summary", "InfoMetricFamily": "info",
}
# Constructor calls whose name is not a literal, and the runtime source that covers their names.
DYNAMIC_SITES = {("services/reporting/ops/collector.py", "_by"): "snapshot_metrics",
                 ("shared/delivery/loop.py", "__init__"): "declared_by_delivery_channels"}
NOT_EXPORTED_BY_US = {"up"}  # Prometheus's own


def exported_name(name: str, kind: str) -> str:
    """The name as scraped: counters get `_total` (prometheus_client adds it); a histogram's or
    summary's series add `_bucket`/`_sum`/`_count` to the documented base name."""
    if kind == "counter":
        return name.removesuffix("_total") + "_total"
    if kind == "info":
        return name + "_info"
    return name


def _metric_name_argument(call: ast.Call) -> ast.expr | None:
    """The `name` argument of a prometheus_client constructor; None for collections.Counter
    and the like (a metric always has a documentation string as well)."""
    keywords = {k.arg: k.value for k in call.keywords}
    if len(call.args) >= 2 or (call.args and "documentation" in keywords):
        return call.args[0]
    return keywords.get("name") if "documentation" in keywords else None


def parsed_sources() -> list[tuple[str, ast.Module]]:
    paths = sorted([*(REPO / "services").rglob("*.py"), *(REPO / "shared").rglob("*.py")])
    return [(str(path.relative_to(REPO)), ast.parse(path.read_text(encoding="utf-8"))) for path in paths]


def declared_in_source() -> tuple[dict[str, str], set[tuple[str, str]]]:
    """(exported name -> where, {(file, function)} of constructors named at run time)."""
    names: dict[str, str] = {}
    dynamic: set[tuple[str, str]] = set()
    for relative, tree in parsed_sources():
        for function in [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]:
            for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
                func = call.func
                kind = CONSTRUCTORS.get(func.id if isinstance(func, ast.Name) else getattr(func, "attr", ""))
                argument = _metric_name_argument(call) if kind else None
                if argument is None:
                    continue
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    names[exported_name(argument.value, kind)] = f"{relative}:{call.lineno}"
                elif function is not tree:
                    dynamic.add((relative, function.name))
    return names, dynamic


def declared_by_faststream() -> dict[str, str]:
    registry = CollectorRegistry()
    build_broker(bootstrap_servers="unused:9092", service="metrics-test", registry=registry)
    return {exported_name(family.name, family.type): "FastStream (shared/kafka/broker.py)"
            for family in registry.collect()}


def declared_by_the_ops_scan() -> dict[str, str]:
    snapshot = QueueSnapshot(
        taken_at=datetime.now(UTC),
        lags=(PartitionLag(group="g", topic="t", partition=0, committed=0, end=1, lag=1),),
        end_offsets={"t": 1}, dead_letters={"t": 0}, oldest_waiting_seconds={"skills": 1.0}, overdue={"skills": 0},
    )
    return {exported_name(family.name, family.type): "reporting.ops.collector.snapshot_metrics"
            for family in snapshot_metrics(snapshot=snapshot)}


def declared_by_delivery_channels() -> dict[str, str]:
    """The metrics of every DeliveryChannel(...) in the source, built as the delivery loop builds
    them. Its arguments must be literals, so that this sees the names without running a service."""
    names: dict[str, str] = {}
    for relative, tree in parsed_sources():
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            if getattr(call.func, "id", getattr(call.func, "attr", "")) != "DeliveryChannel":
                continue
            channel = DeliveryChannel(**{k.arg: ast.literal_eval(k.value) for k in call.keywords})
            registry = CollectorRegistry()
            DeliveryMetrics(channel=channel, registry=registry)
            names.update({exported_name(family.name, family.type): f"{relative}:{call.lineno}"
                          for family in registry.collect()})
    return names


def documented() -> set[str]:
    """The first backticked name of each table row's first column."""
    names = set()
    for line in METRICS_MD.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            names.add(re.match(r"\| `([a-zA-Z_:][a-zA-Z0-9_:]*)`", line).group(1))
    return names


def every_declared() -> dict[str, str]:
    in_source, _dynamic = declared_in_source()
    return {**in_source, **declared_by_faststream(), **declared_by_the_ops_scan(), **declared_by_delivery_channels()}


def test_every_metric_the_services_declare_is_documented():
    missing = {name: where for name, where in every_declared().items() if name not in documented()}
    assert not missing, f"add these to {METRICS_MD.relative_to(REPO)}: {missing}"


def test_every_documented_metric_is_exported_by_something():
    ghosts = documented() - set(every_declared()) - NOT_EXPORTED_BY_US
    assert not ghosts, f"documented in METRICS.md but declared nowhere: {sorted(ghosts)}"


def test_metrics_named_at_run_time_are_covered_by_a_runtime_source():
    _names, dynamic = declared_in_source()
    assert dynamic == set(DYNAMIC_SITES), (
        f"a metric constructor with a computed name: {sorted(dynamic - set(DYNAMIC_SITES))}; "
        "collect its names in this test as snapshot_metrics' are"
    )


def test_the_source_scan_finds_the_metrics_it_is_meant_to():
    # Guards the scan itself: were it to find nothing, the tests above would pass vacuously.
    names, _dynamic = declared_in_source()
    assert {"songtor_dead_letters_total", "songtor_http_request_seconds",
            "songtor_ops_last_scan_timestamp_seconds", "kafka_consumergroup_lag"} <= set(names)
    assert "songtor_topic_end_offset" in declared_by_the_ops_scan()
    assert "songtor_received_messages_in_process" in declared_by_faststream()
    assert {"songtor_webhook_attempts_total", "songtor_webhook_deliveries", "songtor_webhook_circuit_open"} <= set(
        declared_by_delivery_channels())
