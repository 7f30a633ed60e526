"""A relay killed (kill -9) between publishing a batch and marking it: on restart the batch is
published again, so every event reaches its topic and some twice, with the same event id; the
consumer downstream applies each once (its inbox), so its counts stay exact. Real broker, the
routing service's login for the relay, the agency adapters in process as the consumer, both
databases."""

import asyncio
import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry
from sqlmodel import func, select

from agency_adapters.main import build_app as build_agency_app
from agency_adapters.models import AgencyReferral
from agency_adapters.settings import AgencySettings
from routing.domain import route_intake
from shared.auth import OidcSettings
from shared.catalog import default_catalog
from shared.db import InboxEntry, OutboxRelay, add_to_outbox, create_tables, make_engine, session_factory
from shared.db.outbox import OutboxMessage
from shared.kafka import build_broker
from shared.kafka.connection import broker_security, client_options
from shared.topics import Topics
from tests.support.examples import intake_event
from tests.support.in_process import kafka_settings, running
from tests.support.infrastructure import REPO, cluster
from tests.support.kafka_io import json_of, read_to_end, read_topic
from tests.support.polling import eventually_async
from tests.support.tokens import LocalIssuer

pytestmark = pytest.mark.faults

REFERRALS = 40
ISSUER = LocalIssuer()


def employment_assignments(count: int) -> list:
    """One assignment to employment per fresh intake, as routing makes them."""
    events = []
    for _ in range(count):
        intake = intake_event(intake_id=str(uuid.uuid4()))
        routed = route_intake(intake=intake, catalog=default_catalog(), routed_at=datetime.now(UTC))
        events += [item.event for item in routed if item.event.agency == "employment"]
    return events


async def test_a_relay_killed_between_publish_and_mark_sends_again_and_the_consumer_counts_once(
    kafka_env, database_url, tmp_path,
):
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    topic = topics.referral_assigned("employment")
    bootstrap = kafka_env["KAFKA_BOOTSTRAP_SERVERS"]
    assignments = employment_assignments(REFERRALS)
    assert len(assignments) == REFERRALS
    routing_url = database_url("routing")
    engine = make_engine(routing_url)
    await create_tables(engine, [OutboxMessage.__table__])
    async with session_factory(engine)() as session:
        for event in assignments:
            add_to_outbox(session, topic=topic, key=event.referral_id, event=event)
        await session.commit()

    login = kafka_settings(kafka_env, service="routing")
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": login.bootstrap_servers, "KAFKA_SSL_CAFILE": str(login.ssl_cafile),
           "KAFKA_USERNAME": login.username, "KAFKA_PASSWORD_FILE": str(login.password_file)}
    dying = subprocess.run([sys.executable, "-m", "tests.support.dying_relay", routing_url], cwd=REPO, env=env,
                           capture_output=True, timeout=120, check=False)
    assert dying.returncode == -9, dying.stderr.decode()[-3000:]

    # Restarted: nothing was marked, so the whole batch goes again.
    broker = build_broker(bootstrap_servers=login.bootstrap_servers, service="routing",
                          registry=CollectorRegistry(), security=broker_security(login))
    relay = OutboxRelay(engine=engine, broker=broker)
    await broker.start()
    try:
        assert await relay.pending() == REFERRALS
        assert await relay.flush() == REFERRALS
        assert await relay.pending() == 0
    finally:
        await broker.stop()
        await engine.dispose()

    # Both relays are gone and every send was acknowledged: the topic's end is final.
    records = await read_to_end(bootstrap, topic)
    copies = Counter(json_of(record)["event_id"] for record in records)
    assert len(records) == 2 * REFERRALS, "every event twice: once before the kill, once after the restart"
    assert copies == Counter({str(event.event_id): 2 for event in assignments})
    by_event: dict[str, set[bytes]] = {}
    for record in records:
        by_event.setdefault(json_of(record)["event_id"], set()).add(record.value)
    assert all(len(bodies) == 1 for bodies in by_event.values()), "a re-sent event differs from the first send"

    # Downstream: the agency adapters consume both copies and count each referral once.
    agency_url = database_url("agency")
    settings = AgencySettings(database_url=agency_url, kafka=kafka_settings(kafka_env, service="agency-adapters"),
                              oidc=OidcSettings(issuer=ISSUER.issuer), agencies=("employment",))
    agency = make_engine(agency_url)
    try:
        async with running(ISSUER.trust(build_agency_app(settings))):
            group = f"{kafka_env['KAFKA_GROUP_PREFIX']}agency.employment"
            partitions = [TopicPartition(topic, p) for p in range(int(kafka_env["KAFKA_PARTITIONS"]))]
            await eventually_async(lambda: all_consumed(bootstrap, group=group, partitions=partitions,
                                                        records=2 * REFERRALS), timeout=120)
            async with session_factory(agency)() as session:
                referrals = (await session.exec(select(func.count()).select_from(AgencyReferral))).one()
                applied = (await session.exec(select(func.count()).select_from(InboxEntry))).one()
        await read_topic(bootstrap, topics.referral_updated, expect=REFERRALS, timeout=30)
        receipts = await read_to_end(bootstrap, topics.referral_updated)  # the adapters have stopped: all of it
    finally:
        await agency.dispose()
    assert referrals == REFERRALS
    assert applied == REFERRALS
    assert sorted(json_of(r)["referral_id"] for r in receipts) == sorted(e.referral_id for e in assignments)


async def all_consumed(bootstrap: str, *, group: str, partitions: list[TopicPartition], records: int) -> bool:
    """Whether the group has committed past every record of the partitions (as the set-up's login)."""
    options = client_options(cluster().harness()) | {"bootstrap_servers": bootstrap}
    consumer = AIOKafkaConsumer(**options, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        committed = [await consumer.committed(tp) or 0 for tp in partitions]
        ends = await consumer.end_offsets(partitions)
        return sum(committed) == sum(ends.values()) == records
    finally:
        await consumer.stop()
