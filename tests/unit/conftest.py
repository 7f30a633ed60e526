"""Fixtures of the unit tests: handlers on FastStream's in-memory broker, nothing real."""

import pytest
from prometheus_client import CollectorRegistry

from routing.handlers import register_routing_handlers
from routing.models import TABLES as ROUTING_TABLES
from shared.catalog import default_catalog
from shared.db import OutboxRelay, create_tables, make_engine, session_factory
from shared.kafka import build_broker
from shared.settings import KafkaSettings


@pytest.fixture
async def routing_broker(tmp_path):
    """Routing's consumer registered on a broker for TestKafkaBroker, over a fresh SQLite database;
    yields (broker, topics, relay): no relay loop runs here, so a test publishes the outbox with
    `await relay.flush()`."""
    kafka = KafkaSettings(topic_prefix="unit.")
    broker = build_broker(bootstrap_servers="unused:9092", service="routing", registry=CollectorRegistry())
    engine = make_engine(f"sqlite:///{tmp_path}/routing.db")
    await create_tables(engine, ROUTING_TABLES)
    relay = OutboxRelay(engine=engine, broker=broker)
    register_routing_handlers(broker=broker, kafka=kafka, catalog=default_catalog(), sessions=session_factory(engine),
                              relay=relay)
    yield broker, kafka.topics, relay
    await engine.dispose()
