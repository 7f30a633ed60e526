"""Write deploy/helm/songtor/files/kafka-estate.yaml: the Kafka estate of shared/kafka/topology.py
(topics with their settings, one login per principal with its ACLs, the consumer groups of each
service) in the words of Strimzi's KafkaTopic and KafkaUser, for a cluster of three brokers. The
chart's templates iterate it; nothing in the chart names a topic, group or ACL by hand.

    .venv/bin/python scripts/helm_values.py           # rewrite the file
    .venv/bin/python scripts/helm_values.py --check   # exit 1 when the committed file is stale

tests/unit/test_helm_estate.py runs the same comparison.
"""

import re
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic_core import PydanticUndefined

from shared.kafka.topology import SERVICE_PRINCIPALS, Acl, acls_of, topic_specs, usages
from shared.settings import KafkaSettings

REPO = Path(__file__).resolve().parents[1]
ESTATE = REPO / "deploy" / "helm" / "songtor" / "files" / "kafka-estate.yaml"
REGENERATE = ".venv/bin/python scripts/helm_values.py"

# A real cluster: three brokers, so three replicas of every topic and two that must have a write.
CLUSTER_SHAPE = {"replication_factor": 3, "min_insync_replicas": 2}

_OPERATIONS = {"READ": "Read", "WRITE": "Write", "DESCRIBE": "Describe", "DESCRIBE_CONFIGS": "DescribeConfigs",
               "IDEMPOTENT_WRITE": "IdempotentWrite"}
_PATTERNS = {"LITERAL": "literal", "PREFIXED": "prefix"}


def cluster_kafka_settings() -> KafkaSettings:
    """Every field at its declared default, the cluster's shape on top. Each one is passed, so that a
    KAFKA_* variable of whoever runs this changes nothing in the generated file."""
    defaults = {name: field.default for name, field in KafkaSettings.model_fields.items()
                if field.default is not PydanticUndefined}
    return KafkaSettings(**{**defaults, **CLUSTER_SHAPE})


def resource_name(kafka_name: str) -> str:
    """A Kubernetes object name for a topic or principal: an underscore (social_security) is not
    allowed there, so it becomes a hyphen; KafkaTopic keeps the real name in spec.topicName."""
    name = kafka_name.replace("_", "-").lower()
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name) or len(name) > 253:
        raise ValueError(f"{kafka_name!r} has no valid Kubernetes object name")
    return name


def strimzi_acls(acls: list[Acl]) -> list[dict[str, Any]]:
    """One rule per resource with every operation granted on it (Strimzi's simple authorization)."""
    rules: dict[tuple[str, str, str], list[str]] = {}
    for acl in acls:
        rules.setdefault((acl.resource_type, acl.resource, acl.pattern), []).append(_OPERATIONS[acl.operation])
    out = []
    for (kind, name, pattern), operations in rules.items():
        # Kafka has one cluster resource, and Strimzi names it by type alone.
        resource = {"type": "cluster"} if kind == "CLUSTER" else {
            "type": kind.lower(), "name": name, "patternType": _PATTERNS[pattern]}
        out.append({"resource": resource, "operations": operations})
    return out


def estate(kafka: KafkaSettings) -> dict[str, Any]:
    specs = topic_specs(kafka)
    partitions = {spec.name: spec.partitions for spec in specs}
    service_of = {principal: service for service, principal in SERVICE_PRINCIPALS.items()}
    users, consumers = [], {}
    for usage in usages(kafka):
        users.append({"principal": usage.principal, "name": resource_name(usage.principal),
                      "acls": strimzi_acls(acls_of(usage))})
        if usage.consumes:
            groups = [{"group": group, "topics": list(topics)} for group, topics in usage.consumes.items()]
            # A replica beyond a topic's partitions would sit idle in that topic's group.
            cap = min(partitions[topic] for group in groups for topic in group["topics"])
            consumers[service_of[usage.principal]] = {"maxReplicas": cap, "groups": groups}
    return {
        "shape": {"partitions": kafka.partitions, "replicationFactor": kafka.replication_factor,
                  "minInsyncReplicas": kafka.min_insync_replicas,
                  "deadLetterRetentionDays": kafka.dead_letter_retention_days,
                  "personKeysCompactionSeconds": kafka.person_keys_compaction_seconds,
                  "personKeysTombstoneSeconds": kafka.person_keys_tombstone_seconds,
                  "topicPrefix": kafka.topic_prefix, "groupPrefix": kafka.group_prefix},
        "principals": {service: principal for service, principal in SERVICE_PRINCIPALS.items()},
        "topics": [{"topicName": spec.name, "name": resource_name(spec.name), "partitions": spec.partitions,
                    "replicas": spec.replication_factor, "config": dict(spec.config)} for spec in specs],
        "users": users,
        "consumers": consumers,
    }


def render() -> str:
    header = ("# Generated from shared/kafka/topology.py by scripts/helm_values.py: do not edit.\n"
              f"# After a change of the declaration: {REGENERATE}\n")
    return header + yaml.safe_dump(estate(cluster_kafka_settings()), sort_keys=False, width=120)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not ESTATE.exists() or ESTATE.read_text(encoding="utf-8") != text:
            print(f"{ESTATE.relative_to(REPO)} is stale: run {REGENERATE} and commit it", file=sys.stderr)
            return 1
        return 0
    ESTATE.parent.mkdir(parents=True, exist_ok=True)
    ESTATE.write_text(text, encoding="utf-8")
    print(f"written: {ESTATE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
