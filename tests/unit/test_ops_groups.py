"""The lag scan's map of consumer groups (reporting.ops.groups) against the groups and topics
the four services really subscribe: a consumer added or renamed in a service without the map
would show no lag until it first commits, exactly when operations need to see it."""

from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry

from agency_adapters.handlers import register_agency_consumers
from intake.handlers import register_status_handlers
from reporting.handlers import register_reporting_handlers
from reporting.ops.groups import agency_group, known_groups
from reporting.ops.handlers import register_overdue_handler
from routing.handlers import register_routing_handlers
from shared.catalog import default_catalog
from shared.kafka import build_broker
from shared.settings import KafkaSettings

KAFKA = KafkaSettings(topic_prefix="unit.", group_prefix="ops-test.")


def subscribed_groups() -> dict[str, tuple[str, ...]]:
    """Group -> topics, as each service's composition root registers its consumers (nothing
    connects: registering a subscriber only records it on the broker object)."""
    brokers = {name: build_broker(bootstrap_servers="unused:9092", service=name, registry=CollectorRegistry())
               for name in ("intake", "routing", "agency-adapters", "reporting")}
    register_status_handlers(broker=brokers["intake"], kafka=KAFKA, sessions=None)
    register_routing_handlers(broker=brokers["routing"], kafka=KAFKA, catalog=default_catalog(), sessions=None,
                              relay=None)
    register_agency_consumers(broker=brokers["agency-adapters"], kafka=KAFKA, sessions=None, relay=None)
    register_reporting_handlers(broker=brokers["reporting"], kafka=KAFKA, sessions=None, catalog=default_catalog(),
                                zone=ZoneInfo("Asia/Bangkok"))
    register_overdue_handler(broker=brokers["reporting"], kafka=KAFKA, sessions=None)
    found: dict[str, tuple[str, ...]] = {}
    for broker in brokers.values():
        for subscriber in broker.subscribers:
            assert subscriber.group_id not in found, f"two consumers share group {subscriber.group_id}"
            found[subscriber.group_id] = tuple(sorted(subscriber.topic_names))
    return found


def test_the_scan_knows_every_consumer_group_the_services_run_and_the_topics_each_reads():
    expected = {group: tuple(sorted(topics)) for group, topics in known_groups(kafka=KAFKA).items()}
    assert subscribed_groups() == expected


def test_each_agency_s_group_is_the_one_its_consumer_commits_under():
    groups = subscribed_groups()
    for agency in ("employment", "skills", "welfare", "social_security"):
        assert groups[agency_group(kafka=KAFKA, agency=agency)] == (KAFKA.topics.referral_assigned(agency),)
