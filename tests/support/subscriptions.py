"""Which consumer groups read which topics, as each service's composition root registers its
consumers: nothing connects, registering a subscriber only records it on the broker object."""

from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry

from agency_adapters.handlers import register_agency_consumers
from intake.erasure import register_erasure_confirmations
from intake.handlers import register_status_handlers
from reporting.erasure import register_erasure_handler
from reporting.handlers import register_reporting_handlers
from reporting.national_feed.handlers import register_feed_handlers
from reporting.ops.handlers import register_overdue_handler
from routing.handlers import register_routing_handlers
from shared.catalog import default_catalog
from shared.kafka import build_broker
from shared.settings import KafkaSettings


def subscriptions(kafka: KafkaSettings) -> dict[str, dict[str, tuple[str, ...]]]:
    """Service -> {group: sorted topics}."""
    brokers = {name: build_broker(bootstrap_servers="unused:9092", service=name, registry=CollectorRegistry())
               for name in ("intake", "routing", "agency-adapters", "reporting")}
    register_status_handlers(broker=brokers["intake"], kafka=kafka, sessions=None)
    register_erasure_confirmations(broker=brokers["intake"], kafka=kafka, sessions=None)
    register_routing_handlers(broker=brokers["routing"], kafka=kafka, catalog=default_catalog(), sessions=None,
                              relay=None)
    register_agency_consumers(broker=brokers["agency-adapters"], kafka=kafka, sessions=None, relay=None)
    register_reporting_handlers(broker=brokers["reporting"], kafka=kafka, sessions=None, catalog=default_catalog(),
                                zone=ZoneInfo("Asia/Bangkok"))
    register_overdue_handler(broker=brokers["reporting"], kafka=kafka, sessions=None)
    register_erasure_handler(broker=brokers["reporting"], kafka=kafka, sessions=None, relay=None, master_keys=None)
    # As reporting registers them when the national feed has a target (NATIONAL_FEED_TARGET).
    register_feed_handlers(broker=brokers["reporting"], kafka=kafka, sessions=None, rules=None)
    found: dict[str, dict[str, tuple[str, ...]]] = {}
    for name, broker in brokers.items():
        groups = [s.group_id for s in broker.subscribers]
        assert len(groups) == len(set(groups)), f"two consumers of {name} share a group"
        found[name] = {s.group_id: tuple(sorted(s.topic_names)) for s in broker.subscribers}
    return found
