"""The fault tests run on a replicated log, as a deployment does: three KRaft nodes on this machine
(deploy/kafka/kafka.sh with KAFKA_BROKERS=3), every topic with 3 replicas and 2 in sync. It starts
once for the session, beside the single broker of the other tests."""

from collections.abc import Iterator

import pytest

from tests.support.infrastructure import TEST_CLUSTER_PORT, TEST_DATA, KafkaCluster, KafkaForTests


@pytest.fixture(scope="session")
def kafka_cluster() -> Iterator[KafkaCluster]:
    kafka = KafkaForTests(brokers=3, port=TEST_CLUSTER_PORT, data_dir=TEST_DATA / "kafka-cluster")
    try:
        yield kafka.start()
    finally:
        kafka.stop()
