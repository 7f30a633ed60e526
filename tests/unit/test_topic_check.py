"""A service refuses to start on a topic set up otherwise than declared, saying which and how."""

from shared.kafka.topic_check import problems_with
from shared.kafka.topology import topic_specs
from shared.settings import KafkaSettings

KAFKA = KafkaSettings(topic_prefix="unit.")
SPEC = next(s for s in topic_specs(KAFKA) if s.name == "unit.referral.assigned.welfare")
LED = [{"partition": n, "replicas": [1]} for n in range(3)]


def test_a_topic_as_declared_has_no_problem():
    assert problems_with(spec=SPEC, error_code=0, partitions=LED, config=dict(SPEC.config)) == []


def test_a_missing_topic_and_one_the_login_may_not_see_are_named():
    assert problems_with(spec=SPEC, error_code=3, partitions=[], config={}) == [
        "topic unit.referral.assigned.welfare does not exist"]
    assert "ACLs are missing" in problems_with(spec=SPEC, error_code=29, partitions=[], config={})[0]


def test_each_wrong_setting_is_named_with_what_was_expected():
    config = {**SPEC.config, "retention.ms": "86400000", "message.timestamp.type": "CreateTime"}
    found = problems_with(spec=SPEC, error_code=0, partitions=LED[:1], config=config)
    assert "topic unit.referral.assigned.welfare has 1 partitions, expected at least 3" in found
    assert "topic unit.referral.assigned.welfare has retention.ms=86400000, expected -1" in found
    assert "topic unit.referral.assigned.welfare has message.timestamp.type=CreateTime, expected LogAppendTime" in found


def test_more_partitions_replicas_or_in_sync_replicas_than_declared_are_fine():
    wider = [{"partition": n, "replicas": [1, 2, 3]} for n in range(6)]
    assert problems_with(spec=SPEC, error_code=0, partitions=wider,
                         config={**SPEC.config, "min.insync.replicas": "2"}) == []
