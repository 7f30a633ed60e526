"""Outside local and test a service refuses an unreplicated log before it connects to anything: its
topics are checked at start against these very numbers (shared/kafka/topic_check.py), so a
replication factor of 1 here would let one-copy topics pass. And every topic declares that a
replica that fell behind never becomes leader."""

import pytest
from pydantic import ValidationError

from routing.settings import RoutingSettings
from shared.kafka.topic_check import problems_with
from shared.kafka.topology import topic_specs
from shared.settings import KafkaSettings, PrivacySettings

PRODUCTION = PrivacySettings(environment="production", person_ref_key="k" * 40)


def _settings(*, privacy: PrivacySettings = PRODUCTION, **kafka: object) -> RoutingSettings:
    return RoutingSettings(http_port=1, database_url="sqlite:///x.db", privacy=privacy,
                           kafka=KafkaSettings(username="songtor-routing", password="p" * 40, **kafka))


@pytest.mark.parametrize(("replicas", "in_sync"), [(1, 1), (2, 1), (3, 1), (3, 3), (5, 1)])
def test_a_deployment_refuses_a_log_that_loses_writes_with_one_broker(replicas, in_sync):
    with pytest.raises(ValidationError) as refused:
        _settings(replication_factor=replicas, min_insync_replicas=in_sync)
    message = str(refused.value)
    assert f"KAFKA_REPLICATION_FACTOR={replicas}, KAFKA_MIN_INSYNC_REPLICAS={in_sync}" in message
    assert "docs/operations.md#a-replicated-log" in message


@pytest.mark.parametrize(("replicas", "in_sync"), [(3, 2), (5, 3)])
def test_a_replicated_log_is_accepted(replicas, in_sync):
    assert _settings(replication_factor=replicas, min_insync_replicas=in_sync).kafka.replication_factor == replicas


def test_local_and_test_and_a_declared_one_broker_trial_may_run_on_one_broker():
    assert _settings(privacy=PrivacySettings(environment="local")).kafka.replication_factor == 1
    assert _settings(privacy=PrivacySettings(environment="test")).kafka.replication_factor == 1
    assert _settings(single_broker_trial=True).kafka.single_broker_trial


def test_every_topic_declares_no_unclean_leader_election_and_the_check_catches_a_topic_that_allows_it():
    kafka = KafkaSettings(replication_factor=3, min_insync_replicas=2)
    specs = topic_specs(kafka)
    assert {spec.config["unclean.leader.election.enable"] for spec in specs} == {"false"}
    spec = specs[0]
    three = [{"replicas": [1, 2, 3]}] * spec.partitions
    assert problems_with(spec=spec, error_code=0, partitions=three, config=dict(spec.config)) == []
    unclean = problems_with(spec=spec, error_code=0, partitions=three,
                            config={**spec.config, "unclean.leader.election.enable": "true"})
    assert unclean == [f"topic {spec.name} has unclean.leader.election.enable=true, expected false"]
    one_copy = problems_with(spec=spec, error_code=0, partitions=[{"replicas": [1]}] * spec.partitions,
                             config=dict(spec.config))
    assert one_copy == [f"topic {spec.name} has replication factor 1, expected at least 3"]


def test_bootstrap_hosts_are_split_for_the_clients():
    assert KafkaSettings(bootstrap_servers="a:1, b:2,c:3").bootstrap_hosts == ["a:1", "b:2", "c:3"]


def test_a_broker_built_from_a_list_of_hosts_bootstraps_from_each():
    """FastStream takes a string as one host: "a:1,b:2" would be looked up as a host name."""
    from prometheus_client import CollectorRegistry

    from shared.kafka import build_broker

    broker = build_broker(bootstrap_servers="a:1, b:2,c:3", service="test", registry=CollectorRegistry())
    assert broker._connection_kwargs["bootstrap_servers"] == ["a:1", "b:2", "c:3"]  # noqa: SLF001
