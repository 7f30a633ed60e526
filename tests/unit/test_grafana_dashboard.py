"""The provisioned Grafana dashboard parses, points at the provisioned data source, covers what
operations teams asked for, and queries only metrics that exist (deploy/prometheus/METRICS.md)."""

import json
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "deploy" / "grafana"
# PromQL words that look like metric names but are functions, keywords or label names.
_NOT_METRICS = {
    "sum", "max", "min", "avg", "count", "by", "without", "rate", "increase", "irate", "deriv",
    "histogram_quantile", "le", "and", "or", "unless", "on", "ignoring",
}


def _dashboard() -> dict:
    return json.loads((GRAFANA / "dashboards" / "songtor.json").read_text())


def _documented_metrics() -> set[str]:
    table = (REPO / "deploy" / "prometheus" / "METRICS.md").read_text()
    return {name for line in table.splitlines() if line.startswith("| `")
            for name in re.findall(r"`([a-z_:]+)`", line.split("|")[1])}


def _metric_names(expr: str) -> set[str]:
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}|\[[^]]*\]", "", without_strings)
    without_groupings = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", without_labels)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_groupings))
    return {word for word in words if word not in _NOT_METRICS}


def test_every_panel_queries_documented_metrics_only():
    documented = _documented_metrics()
    assert "kafka_consumergroup_lag_sum" in documented
    for panel in _dashboard()["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            unknown = {
                name for name in _metric_names(target["expr"])
                if name not in documented and re.sub(r"_(bucket|sum|count)$", "", name) not in documented
            }
            assert not unknown, f"{panel['title']}: {unknown} not in METRICS.md"


def test_panels_cover_what_operations_asked_for():
    queries = " ".join(t["expr"] for p in _dashboard()["panels"] for t in p["targets"])
    for metric in ("kafka_consumergroup_lag_sum", "songtor_referral_oldest_waiting_seconds",
                   "songtor_received_processed_messages_total", "songtor_dead_letters_total",
                   "songtor_dead_letters_depth", "songtor_referrals_overdue", "songtor_webhook_deliveries",
                   "songtor_http_request_seconds_bucket", "up"):
        assert re.search(rf"\b{metric}\b", queries), metric


def test_panels_use_the_provisioned_data_source_and_do_not_overlap():
    source = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uid = source["datasources"][0]["uid"]
    cells = set()
    for panel in _dashboard()["panels"]:
        assert panel["datasource"]["uid"] == uid
        box = panel["gridPos"]
        area = {(x, y) for x in range(box["x"], box["x"] + box["w"]) for y in range(box["y"], box["y"] + box["h"])}
        assert not area & cells, f"{panel['title']} overlaps another panel"
        assert box["x"] + box["w"] <= 24
        cells |= area


def test_dashboard_provider_reads_the_directory_compose_mounts():
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "songtor.yml").read_text())
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    mounts = dict(volume.split(":")[:2] for volume in compose["services"]["grafana"]["volumes"])
    assert mounts["./deploy/grafana/dashboards"] == provider["providers"][0]["options"]["path"]
