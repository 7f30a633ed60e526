"""The chart's Kafka estate (deploy/helm/songtor/files/kafka-estate.yaml) is generated from
shared/kafka/topology.py, never edited: the committed file must equal what the declaration gives today."""

import pytest

from shared.kafka.topology import principals, topic_specs
from tests.support.helm_chart import REPO, helm_values


def test_committed_estate_is_what_the_declaration_gives():
    committed = helm_values.ESTATE.read_text(encoding="utf-8") if helm_values.ESTATE.exists() else ""
    assert committed == helm_values.render(), (
        f"{helm_values.ESTATE.relative_to(REPO)} is stale: shared/kafka/topology.py changed. "
        f"Regenerate it with `{helm_values.REGENERATE}` and commit it"
    )


def test_the_estate_is_the_clusters_shape_whatever_the_environment(monkeypatch):
    monkeypatch.setenv("KAFKA_REPLICATION_FACTOR", "1")
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", "unit.")
    kafka = helm_values.cluster_kafka_settings()
    assert (kafka.replication_factor, kafka.min_insync_replicas, kafka.topic_prefix) == (3, 2, "")
    assert all(spec.replication_factor == 3 for spec in topic_specs(kafka))


def test_every_principal_has_a_valid_kubernetes_name():
    names = {helm_values.resource_name(principal) for principal in principals()}
    assert len(names) == len(principals())  # no two principals meet under one name
    assert helm_values.resource_name("agency-social_security") == "agency-social-security"
    with pytest.raises(ValueError):
        helm_values.resource_name("Not A Name!")
