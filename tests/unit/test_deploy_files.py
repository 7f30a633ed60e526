"""docker-compose.yml cannot be run here (no Docker engine), so its wiring is checked against
the code: every built service names a real module, and every variable it sets is one that
service's settings actually read."""

import importlib
import re
from pathlib import Path

import pytest
import yaml

from agency_adapters.settings import AgencySettings
from intake.settings import IntakeSettings
from reporting.settings import ReportingSettings
from routing.settings import RoutingSettings

REPO = Path(__file__).resolve().parents[2]
SETTINGS = {
    "intake": IntakeSettings,
    "routing": RoutingSettings,
    "agency_adapters": AgencySettings,
    "reporting": ReportingSettings,
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


# A master key list as an operator writes it (id=<base64 of 32 bytes>).
_MASTER_KEYS = "compose=" + "A" * 43 + "="


def _interpolated(value: str) -> str:
    """What compose would pass: a required variable given a 40-character secret (the master keys a
    list of one), else its default."""
    def one(match: re.Match) -> str:
        name, operator, default = match.groups()
        if operator == ":-":
            return default
        return _MASTER_KEYS if name == "SONGTOR_MASTER_KEYS" else "x" * 40
    return re.sub(r"\$\{([A-Z_]+)(:-|:\?)([^}]*)\}", one, value)


def test_no_password_or_key_has_a_default_in_compose():
    text = (REPO / "docker-compose.yml").read_text()
    for line in text.splitlines():
        if re.search(r"PASSWORD|_KEY", line) and "${" in line:
            assert ":?" in line and ":-" not in line, f"a secret with a default: {line.strip()}"


def _services(compose: dict) -> dict:
    """The four Songtor services (kafka-setup is built from the same image but runs the set-up)."""
    return {name: spec for name, spec in compose["services"].items() if "build" in spec and "command" not in spec}


def test_every_service_image_is_built_from_an_existing_dockerfile_and_module(compose):
    built = _services(compose)
    assert len(built) == 4
    for spec in built.values():
        assert (REPO / spec["build"]["dockerfile"]).exists()
        importlib.import_module(f"{spec['build']['args']['SERVICE_MODULE']}.main")


def test_each_service_reads_the_variables_compose_sets(compose, monkeypatch):
    for spec in _services(compose).values():
        module = spec["build"]["args"]["SERVICE_MODULE"]
        settings_class = SETTINGS[module]
        prefix = settings_class.model_config["env_prefix"]
        env = {key: str(value) for key, value in spec["environment"].items()}
        for key, value in env.items():
            monkeypatch.setenv(key, _interpolated(value))
        own = {key for key in env if key.startswith(prefix)}
        assert own, f"{module}: no {prefix}* variables"
        settings = settings_class()
        assert settings.http_host == "0.0.0.0"
        assert settings.kafka.bootstrap_servers == "kafka:9092"
        assert settings.kafka.security_protocol == "SASL_SSL" and settings.kafka.ssl_cafile is not None
        assert settings.kafka.password_file is not None and settings.kafka.username
        assert f"{settings.http_port}:{settings.http_port}" in spec["ports"]
        if f"{prefix}DATABASE_URL" in env:
            assert settings.database_url.startswith("postgresql+psycopg://")
        for key in env:
            monkeypatch.delenv(key)


def test_only_the_services_that_open_personal_data_get_the_master_keys(compose):
    keyed = {name for name, spec in _services(compose).items() if "SONGTOR_MASTER_KEYS" in spec["environment"]}
    assert keyed == {"intake", "agency-adapters", "reporting"}  # routing needs no identity


def test_prometheus_scrapes_every_service_as_its_own_job(compose):
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    built = _services(compose)
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert sorted(jobs) == sorted(built)
    for name, targets in jobs.items():
        assert targets == [f"{name}:{built[name]['ports'][0].split(':')[-1]}"]


def test_prometheus_and_grafana_mount_files_that_exist(compose):
    """Docker would mount a missing file as an empty directory and the container would start
    without its rules or dashboard, silently."""
    for name in ("prometheus", "grafana"):
        for volume in compose["services"][name]["volumes"]:
            source = volume.split(":")[0]
            assert (REPO / source).exists(), f"{name}: {source} does not exist"
    mounted = {volume.split(":")[1] for volume in compose["services"]["prometheus"]["volumes"]}
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    for rule_file in config["rule_files"]:
        assert f"/etc/prometheus/{rule_file}" in mounted
    assert ":" in compose["services"]["grafana"]["image"] and not compose["services"]["grafana"]["image"].endswith(":latest")


def test_compose_kafka_takes_logins_only_and_grants_nothing_without_an_acl(compose):
    kafka = compose["services"]["kafka"]["environment"]
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert kafka["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "CLIENT:SASL_SSL" in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    assert "PLAINTEXT:" not in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].replace("SASL_PLAINTEXT", "")


def test_compose_services_log_in_as_their_own_principal_after_the_set_up(compose):
    from shared.kafka.topology import SERVICE_PRINCIPALS

    setup = compose["services"]["kafka-setup"]
    assert setup["command"][-3:] == ["shared.kafka.provision", "apply", "--generate-passwords"]
    for name, spec in _services(compose).items():
        env = spec["environment"]
        assert env["KAFKA_USERNAME"] == SERVICE_PRINCIPALS[name]
        assert env["KAFKA_PASSWORD_FILE"] == f"/run/secrets/kafka/{SERVICE_PRINCIPALS[name]}.password"
        assert spec["depends_on"]["kafka-setup"]["condition"] == "service_completed_successfully"
