"""The Helm chart (deploy/helm/songtor) as a cluster would take it: a real helm lints and renders it,
every object validates against Kubernetes' schemas (the oldest supported version and the newest) and
the KEDA and Strimzi CRDs, and what it renders is what the code declares: each service's settings,
probes, resources and secrets by reference, every topic with its settings, every ACL, a lag trigger
per consumer group. The chart is rendered once for the module; the negative cases render their own.

`make test` installs helm and the CRDs first (deploy/helm/tools.sh ensure); without them the tests
fail rather than skip, as promtool's do.
"""

import base64
import copy
import re
from collections import Counter

import pytest
from pydantic_settings import BaseSettings

from agency_adapters.settings import AgencySettings
from intake.settings import IntakeSettings
from reporting.settings import ReportingSettings
from routing.settings import RoutingSettings
from shared.db.schema import SCHEMA_PACKAGES
from shared.kafka.topology import SERVICE_PRINCIPALS, all_acls, service_usage, topic_specs
from tests.support import helm_chart

helm_values = helm_chart.helm_values
SETTINGS = {"intake": IntakeSettings, "routing": RoutingSettings, "agency-adapters": AgencySettings,
            "reporting": ReportingSettings}
_SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEY|_KEYS|DATABASE_URL|WEBHOOKS)$")


@pytest.fixture(scope="module")
def objects() -> list[dict]:
    try:
        return helm_chart.render()
    except helm_chart.ToolMissing as missing:
        pytest.fail(str(missing))


@pytest.fixture(scope="module")
def crds() -> dict:
    try:
        return helm_chart.crd_schemas()
    except helm_chart.ToolMissing as missing:
        pytest.fail(str(missing))


def _of(objects: list[dict], kind: str) -> dict[str, dict]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def _service_of(obj: dict) -> str:
    return obj["metadata"]["labels"]["app.kubernetes.io/component"]


def test_helm_lint_passes():
    done = helm_chart.run_helm("lint", "--strict")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_chart_renders_what_a_release_needs(objects):
    kinds = Counter(obj["kind"] for obj in objects)
    assert kinds["Deployment"] == kinds["Service"] == kinds["PodDisruptionBudget"] == kinds["ConfigMap"] == 4
    assert kinds["Job"] == 4 and kinds["ScaledObject"] == kinds["TriggerAuthentication"] == 4
    assert kinds["Secret"] == 0


@pytest.mark.parametrize("kube_version", helm_chart.KUBE_VERSIONS)
def test_every_rendered_object_is_valid(objects, crds, kube_version):
    assert helm_chart.problems(objects, crds=crds, kube_version=kube_version) == []


def test_a_broken_object_is_refused(objects, crds):
    """The validators bite: a topic without replicas, a probe without a port, a misspelt field."""
    broken = copy.deepcopy(objects)
    topic = next(obj for obj in broken if obj["kind"] == "KafkaTopic")
    topic["spec"]["replicas"] = 0
    deployment = next(obj for obj in broken if obj["kind"] == "Deployment")
    del deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"]
    scaled = next(obj for obj in broken if obj["kind"] == "ScaledObject")
    scaled["spec"]["maxReplicas"] = scaled["spec"].pop("maxReplicaCount")
    found = "\n".join(helm_chart.problems(broken, crds=crds, kube_version=helm_chart.KUBE_VERSIONS[0]))
    assert f"KafkaTopic/{topic['metadata']['name']}" in found and "replicas: 0 is less than the minimum" in found
    assert "livenessProbe.httpGet: 'port' is a required property" in found
    assert "'maxReplicas' was unexpected" in found


def _deployment_problems(deployment: dict) -> list[str]:
    name = deployment["metadata"]["name"]
    pod = deployment["spec"]["template"]["spec"]
    found = []
    if not pod["securityContext"].get("runAsNonRoot"):
        found.append(f"{name}: may run as root")
    for container in pod["containers"]:
        # Ready while the broker answers; alive while the process does (a broker outage is waited
        # out, not cured by restarting every pod).
        for probe, path in (("readinessProbe", "/health"), ("startupProbe", "/health"),
                            ("livenessProbe", "/health/live")):
            if container.get(probe, {}).get("httpGet", {}).get("path") != path:
                found.append(f"{name}: no {probe} on {path}")
        resources = container.get("resources", {})
        if not resources.get("requests", {}).get("cpu") or not resources.get("limits", {}).get("memory"):
            found.append(f"{name}: no cpu request or memory limit")
        security = container.get("securityContext", {})
        if not security.get("readOnlyRootFilesystem") or security.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: writable root or privilege escalation")
    return found


def test_each_service_has_probes_resources_and_runs_locked_down(objects):
    deployments = _of(objects, "Deployment")
    assert sorted(map(_service_of, deployments.values())) == sorted(SETTINGS)
    for deployment in deployments.values():
        assert _deployment_problems(deployment) == []
    missing = copy.deepcopy(next(iter(deployments.values())))
    del missing["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert any("no readinessProbe" in problem for problem in _deployment_problems(missing))


def test_every_secret_is_referenced_never_inlined(objects):
    for config_map in _of(objects, "ConfigMap").values():
        for key, value in config_map["data"].items():
            assert key.endswith("_FILE") or not _SECRET_NAME.search(key), f"{key} in a ConfigMap"
            assert "://" not in value or "@" not in value, f"{key}: a URL with credentials in a ConfigMap"
    for obj in objects:
        pod = obj["spec"]["template"]["spec"] if obj["kind"] in ("Deployment", "Job") else None
        for container in (pod or {}).get("containers", []):
            for variable in container.get("env", []):
                assert "value" not in variable, f"{obj['metadata']['name']}: {variable['name']} inline"
                assert "secretKeyRef" in variable["valueFrom"]
    reporting = _of(objects, "Deployment")["songtor-reporting"]["spec"]["template"]["spec"]
    mounted = {volume["secret"]["secretName"] for volume in reporting["volumes"] if "secret" in volume}
    assert mounted == {"songtor-reporting", "songtor-ops", "songtor-cluster-ca-cert", "songtor-master-keys"}


def _variables_read(settings: type[BaseSettings], prefix: str | None = None) -> set[str]:
    """Every environment variable a settings class reads, its nested settings' own prefixes included."""
    prefix = settings.model_config.get("env_prefix", "") if prefix is None else prefix
    names = set()
    for name, field in settings.model_fields.items():
        factory = field.default_factory
        if isinstance(factory, type) and issubclass(factory, BaseSettings):
            names |= _variables_read(factory)
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def test_each_service_reads_every_variable_the_chart_sets(objects, monkeypatch, tmp_path):
    master_keys = tmp_path / "master-keys"
    master_keys.write_text("chart=" + base64.b64encode(bytes(32)).decode())
    fake_secrets = {"DATABASE_URL": "postgresql+psycopg://songtor:x@db/songtor", "SONGTOR_PERSON_REF_KEY": "k" * 40}
    config_maps = _of(objects, "ConfigMap")
    for deployment in _of(objects, "Deployment").values():
        service = _service_of(deployment)
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = dict(config_maps[container["envFrom"][0]["configMapRef"]["name"]]["data"])
        for variable in container["env"]:
            env[variable["name"]] = next(value for suffix, value in fake_secrets.items() if variable["name"].endswith(suffix))
        unknown = set(env) - _variables_read(SETTINGS[service])
        assert not unknown, f"{service}: the chart sets variables its settings never read: {sorted(unknown)}"
        with monkeypatch.context() as patched:
            for key, value in env.items():
                patched.setenv(key, value)
            if "SONGTOR_MASTER_KEYS_FILE" in env:
                patched.setenv("SONGTOR_MASTER_KEYS_FILE", str(master_keys))
            settings = SETTINGS[service]()
        assert container["command"] == ["python", "-m", service.replace("-", "_")]
        assert container["ports"][0]["containerPort"] == settings.http_port == SETTINGS[service].model_fields["http_port"].default
        assert settings.http_host == "0.0.0.0" and settings.kafka.username == SERVICE_PRINCIPALS[service]
        assert (settings.kafka.replication_factor, settings.kafka.min_insync_replicas) == (3, 2)
        assert settings.kafka.security_protocol == "SASL_SSL" and settings.oidc.issuer
        # Only the services that open personal data get the master keys; routing needs no identity.
        assert ("SONGTOR_MASTER_KEYS_FILE" in env) == ("sealing" in SETTINGS[service].model_fields)


def test_every_declared_topic_is_a_kafka_topic_with_its_settings(objects):
    topics = {obj["spec"]["topicName"]: obj for obj in _of(objects, "KafkaTopic").values()}
    specs = topic_specs(helm_values.cluster_kafka_settings())
    assert sorted(topics) == sorted(spec.name for spec in specs)
    for spec in specs:
        rendered = topics[spec.name]["spec"]
        assert (rendered["partitions"], rendered["replicas"]) == (spec.partitions, 3)
        assert rendered["config"] == dict(spec.config)
        assert rendered["config"]["min.insync.replicas"] == "2"
    assert topics["person.keys"]["spec"]["config"]["cleanup.policy"] == "compact"
    assert topics["intake.submitted"]["spec"]["config"]["retention.ms"] == "-1"
    assert topics["intake.submitted.dlq"]["spec"]["config"]["retention.ms"] == str(90 * 24 * 3600 * 1000)


def test_every_declared_acl_is_in_a_kafka_user(objects):
    operations = {"Read": "READ", "Write": "WRITE", "Describe": "DESCRIBE", "DescribeConfigs": "DESCRIBE_CONFIGS",
                  "IdempotentWrite": "IDEMPOTENT_WRITE"}
    granted = set()
    for user in _of(objects, "KafkaUser").values():
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        assert user["spec"]["authorization"]["type"] == "simple"
        principal = user["metadata"]["annotations"]["songtor/principal"]
        for rule in user["spec"]["authorization"]["acls"]:
            resource = rule["resource"]
            for operation in rule["operations"]:
                granted.add((principal, resource["type"].upper(), resource.get("name", "kafka-cluster"),
                             {"literal": "LITERAL", "prefix": "PREFIXED"}[resource.get("patternType", "literal")],
                             operations[operation]))
    declared = {(acl.principal, acl.resource_type, acl.resource, acl.pattern, acl.operation)
                for acl in all_acls(helm_values.cluster_kafka_settings())}
    assert granted == declared


def test_each_consuming_service_scales_on_the_lag_of_each_of_its_groups(objects):
    kafka = helm_values.cluster_kafka_settings()
    deployments = _of(objects, "Deployment")
    for scaled in _of(objects, "ScaledObject").values():
        service = _service_of(scaled)
        spec = scaled["spec"]
        assert spec["scaleTargetRef"]["name"] in deployments
        assert 2 == spec["minReplicaCount"] <= spec["maxReplicaCount"] <= kafka.partitions
        wanted = {(group, topic) for group, topics in service_usage(kafka, service).consumes.items() for topic in topics}
        triggers = {(t["metadata"]["consumerGroup"], t["metadata"]["topic"]) for t in spec["triggers"]}
        assert triggers == wanted
        for trigger in spec["triggers"]:
            assert trigger["type"] == "kafka" and int(trigger["metadata"]["lagThreshold"]) > 0
            assert trigger["metadata"]["sasl"] == "scram_sha512" and trigger["metadata"]["tls"] == "enable"
        auth = _of(objects, "TriggerAuthentication")[spec["triggers"][0]["authenticationRef"]["name"]]["spec"]
        assert {ref["parameter"]: ref["name"] for ref in auth["secretTargetRef"]}["password"] == SERVICE_PRINCIPALS[service]
    # Under KEDA the Deployment leaves its replica count to the autoscaler.
    assert all("replicas" not in deployment["spec"] for deployment in deployments.values())


def test_more_replicas_than_partitions_is_refused():
    done = helm_chart.run_helm("template", "songtor", values={"services": {"routing": {"maxReplicas": 4}}})
    assert done.returncode != 0 and "more than the 3 partitions" in done.stderr


def test_a_release_without_its_issuer_or_image_is_refused():
    done = helm_chart.run_helm("template", "songtor", values={"oidc": {"issuer": ""}})
    assert done.returncode != 0 and "oidc.issuer is required" in done.stderr


def test_each_database_is_migrated_before_install_and_upgrade(objects):
    jobs = _of(objects, "Job")
    assert sorted(map(_service_of, jobs.values())) == sorted(SCHEMA_PACKAGES)
    for job in jobs.values():
        service = _service_of(job)
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        container = job["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["python", "-m", "shared.db.migrate", "--service", service, "upgrade"]
        prefix = SETTINGS[service].model_config["env_prefix"]
        assert [variable["name"] for variable in container["env"]] == [f"{prefix}DATABASE_URL"]
