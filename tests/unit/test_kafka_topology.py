"""The declaration of topics and principals (shared/kafka/topology.py): what each login may do.
The secured-broker tests prove the ACLs suffice (the whole suite runs on them) and refuse what
they must; these check, without a broker, that they grant no more than the issue allows."""

from shared.agencies import AGENCIES
from shared.kafka.topology import (
    SERVICE_PRINCIPALS, acls_of, agency_principal, all_acls, service_usage, topic_specs, usage_of,
)
from shared.settings import KafkaSettings
from shared.topics import dead_letter_topic
from tests.support.subscriptions import subscriptions

KAFKA = KafkaSettings(topic_prefix="unit.", group_prefix="unit.")


def test_each_service_consumes_exactly_what_its_principal_is_declared_to():
    for service, groups in subscriptions(KAFKA).items():
        declared = {group: tuple(sorted(topics)) for group, topics in service_usage(KAFKA, service).consumes.items()}
        assert groups == declared, service


def test_withdrawn_consents_are_written_by_intake_alone_and_read_by_reporting_alone():
    topic = KAFKA.topics.person_consents
    acls = all_acls(KAFKA)

    def who(*operations: str, resource: str = topic) -> set[str]:
        return {a.principal for a in acls if a.resource == resource and a.operation in operations}

    assert who("WRITE") == {"songtor-intake"}, "not ops either: it re-drives event topics only"
    assert who("READ") == {"songtor-reporting"}
    assert service_usage(KAFKA, "reporting").consumes["unit.reporting.feed.consents"] == (topic,)
    assert who("DESCRIBE") == {"songtor-intake", "songtor-reporting", "songtor-ops"}
    # The feed's consumer may set aside a record it cannot read on the dead-letter twin, like every consumer.
    assert who("WRITE", resource=dead_letter_topic(topic)) == {"songtor-reporting"}
    spec = {s.name: s for s in topic_specs(KAFKA)}[topic]
    assert (spec.config["cleanup.policy"], spec.config["retention.ms"]) == ("delete", "-1"), "kept: a rebuilt feed needs every one"


def test_an_agency_reads_its_own_queue_in_its_own_groups_and_nothing_else():
    for agency in AGENCIES:
        acls = acls_of(usage_of(KAFKA, agency_principal(agency)))
        topics = {(a.resource, a.operation) for a in acls if a.resource_type == "TOPIC"}
        assert topics == {(KAFKA.topics.referral_assigned(agency), "READ"),
                          (KAFKA.topics.referral_assigned(agency), "DESCRIBE")}
        groups = {(a.resource, a.pattern, a.operation) for a in acls if a.resource_type == "GROUP"}
        assert groups == {(f"unit.{agency}.", "PREFIXED", "READ")}
        assert not [a for a in acls if a.resource_type == "CLUSTER"]


def test_agency_group_prefixes_do_not_overlap_each_other_or_the_services_groups():
    prefixes = [f"unit.{agency}." for agency in AGENCIES]
    service_groups = [g for s in ("intake", "routing", "agency-adapters", "reporting")
                      for g in service_usage(KAFKA, s).consumes]
    for prefix in prefixes:
        assert not [g for g in service_groups if g.startswith(prefix)]
        assert [p for p in prefixes if p.startswith(prefix)] == [prefix]


def test_intake_never_reads_an_agency_topic_and_the_ops_view_reads_no_payload_but_dead_letters():
    intake = {a.resource for a in acls_of(service_usage(KAFKA, "intake")) if a.operation == "READ"}
    assert intake.isdisjoint(KAFKA.topics.all_assigned())
    ops = acls_of(usage_of(KAFKA, SERVICE_PRINCIPALS["ops"]))
    read = {a.resource for a in ops if a.operation == "READ"}
    assert read == {dead_letter_topic(t) for t in KAFKA.topics.all_event_topics()}
    assert {a.resource for a in ops if a.operation == "DESCRIBE" and a.resource_type == "TOPIC"} >= set(
        KAFKA.topics.all_event_topics())


def test_no_login_may_create_alter_or_delete_anything():
    operations = {a.operation for a in all_acls(KAFKA)}
    assert operations <= {"READ", "WRITE", "DESCRIBE", "DESCRIBE_CONFIGS", "IDEMPOTENT_WRITE"}
    assert not [a for a in all_acls(KAFKA) if a.pattern == "PREFIXED" and a.resource_type == "TOPIC"]


def test_only_routing_and_transfers_write_agency_queues_and_only_agency_adapters_write_updates():
    def writers(topic: str) -> set[str]:
        return {a.principal for a in all_acls(KAFKA) if a.resource == topic and a.operation == "WRITE"}

    for topic in KAFKA.topics.all_assigned():
        assert writers(topic) == {"songtor-routing", "songtor-agency-adapters", "songtor-ops"}
    assert writers(KAFKA.topics.referral_updated) == {"songtor-agency-adapters", "songtor-ops"}


def test_event_topics_keep_every_event_and_agency_queues_stamp_the_broker_s_time():
    specs = {s.name: s for s in topic_specs(KAFKA)}
    assert set(specs) == set(KAFKA.topics.all_topics())
    for name in KAFKA.topics.all_event_topics():
        assert specs[name].config["retention.ms"] == "-1"
        assert specs[dead_letter_topic(name)].config["retention.ms"] == str(90 * 24 * 3600 * 1000)
    for name in KAFKA.topics.all_assigned():
        assert specs[name].config["message.timestamp.type"] == "LogAppendTime"
