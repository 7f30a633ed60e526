"""Whether every consumer group of a test's namespace has read its topics to the end: how a fault
test knows that what it put on the log has been applied before it judges the outcome."""

import time

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition

from shared.kafka.provision import admin_client, librdkafka_config
from tests.support.infrastructure import InfrastructureError, KafkaCluster


def _lag(kafka: KafkaCluster, *, group_prefix: str) -> dict[str, int]:
    harness = kafka.harness()
    admin = admin_client(harness)
    groups = [g.group_id for g in admin.list_consumer_groups().result(timeout=30).valid
              if g.group_id.startswith(group_prefix)]
    probe = Consumer({**librdkafka_config(harness), "group.id": f"{group_prefix}lag-probe"})
    lag: dict[str, int] = {}
    try:
        for group in groups:
            answer = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(timeout=30)
            for tp in answer.topic_partitions:
                _low, high = probe.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
                behind = high - max(tp.offset, 0)
                if behind > 0:
                    lag[f"{group} {tp.topic}[{tp.partition}]"] = behind
    finally:
        probe.close()
    return lag


def groups_caught_up(kafka: KafkaCluster, *, group_prefix: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (lag := _lag(kafka, group_prefix=group_prefix)) and time.monotonic() < deadline:
        time.sleep(1.0)
    if lag:
        raise InfrastructureError(f"consumer groups still behind after {timeout:.0f} s: {lag}")
