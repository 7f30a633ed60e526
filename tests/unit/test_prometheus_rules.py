"""promtool accepts the Prometheus configuration and the alert rules, and the rules' own unit
tests (deploy/prometheus/alerts.test.yml) pass: each alert fires when it should and not otherwise.

`make test` installs promtool first (deploy/prometheus/promtool.sh ensure). Without it the test
is skipped on a workstation, but fails in CI, where a skip would hide unchecked rules.
"""

import json
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "deploy" / "prometheus"


@pytest.fixture(scope="module")
def promtool() -> str:
    found = subprocess.run(
        ["bash", str(PROMETHEUS / "promtool.sh"), "path"], capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        # A check that silently skips is no check: make test and make test-unit install it.
        pytest.fail("promtool is not installed: run `bash deploy/prometheus/promtool.sh ensure` (make test does)")
    return found.stdout.strip()


def _run(promtool: str, *args: str | Path) -> None:
    done = subprocess.run([promtool, *map(str, args)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"promtool {' '.join(map(str, args))}:\n{done.stdout}\n{done.stderr}"


def test_configuration_is_valid(promtool):
    _run(promtool, "check", "config", PROMETHEUS / "prometheus.yml")


def test_alert_rules_are_valid(promtool):
    _run(promtool, "check", "rules", PROMETHEUS / "alerts.yml")


def test_alert_rules_fire_when_they_should(promtool):
    _run(promtool, "test", "rules", PROMETHEUS / "alerts.test.yml")


def test_every_alert_has_a_test_severity_and_both_languages():
    rules = [rule for group in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
             for rule in group["rules"]]
    tested = yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text())
    firing = {case["alertname"] for test in tested["tests"] for case in test["alert_rule_test"] if case["exp_alerts"]}
    quiet = {case["alertname"] for test in tested["tests"] for case in test["alert_rule_test"] if not case["exp_alerts"]}
    for rule in rules:
        assert rule["alert"] in firing and rule["alert"] in quiet, f"{rule['alert']}: no firing and quiet case"
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert {"summary", "summary_th", "description", "description_th"} <= set(rule["annotations"])


def test_dashboard_queries_are_valid_promql(promtool, tmp_path):
    """promtool has no query parser of its own on the command line, but it parses recording
    rules: each dashboard query becomes one."""
    dashboard = json.loads((REPO / "deploy" / "grafana" / "dashboards" / "songtor.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{n}", "expr": expr} for n, expr in enumerate(exprs)
    ]}]}
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    _run(promtool, "check", "rules", path)
