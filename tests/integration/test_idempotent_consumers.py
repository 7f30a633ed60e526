"""Handlers against the real broker and the real databases (SQLite and PostgreSQL): a
redelivered event changes nothing, and a pending outbox row is published after a crash."""

import asyncio
from datetime import UTC, datetime

import pytest

from agency_adapters.main import build_app as build_agency_app
from agency_adapters.settings import AgencySettings
from reporting.main import build_app as build_reporting_app
from reporting.settings import ReportingSettings
from routing.domain import route_intake
from shared.auth import OidcSettings
from shared.catalog import default_catalog
from shared.db import OutboxRelay, add_to_outbox, create_tables, make_engine, session_factory
from shared.db.outbox import OutboxMessage
from shared.kafka import build_broker
from shared.topics import Topics
from tests.support.examples import intake_event
from tests.support.in_process import kafka_settings, ops_login, running
from tests.support.kafka_io import json_of, produce, read_topic
from tests.support.tokens import LocalIssuer

pytestmark = pytest.mark.integration
ISSUER = LocalIssuer()
OIDC = OidcSettings(issuer=ISSUER.issuer)


def officer() -> dict[str, str]:  # minted per call: a token lives five minutes
    return ISSUER.headers("agency_officer", agency="employment", provinces=("64",))


def office() -> dict[str, str]:
    return ISSUER.headers("provincial_office", provinces=("64",))


async def test_an_assignment_delivered_twice_is_stored_and_announced_once(kafka_env, database_url):
    settings = AgencySettings(database_url=database_url("agency"), kafka=kafka_settings(kafka_env, service="agency-adapters"), oidc=OIDC)
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    assigned = route_intake(intake=intake_event(), catalog=default_catalog(), routed_at=datetime.now(UTC))[0].event
    payload = assigned.model_dump_json().encode()

    async with running(ISSUER.trust(build_agency_app(settings))) as client:
        await produce(kafka_env["KAFKA_BOOTSTRAP_SERVERS"], topics.referral_assigned("employment"),
                      [(assigned.referral_id.encode(), payload), (assigned.referral_id.encode(), payload)])
        for _ in range(100):
            rows = (await client.get("/v1/agencies/employment/referrals", headers=officer())).json()["referrals"]
            if rows:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)  # give the duplicate time to be (not) applied
        rows = (await client.get("/v1/agencies/employment/referrals", headers=officer())).json()["referrals"]

    assert [r["referral_id"] for r in rows] == [assigned.referral_id]
    updates = await read_topic(kafka_env["KAFKA_BOOTSTRAP_SERVERS"], topics.referral_updated, expect=2, timeout=5)
    assert [json_of(u)["status"] for u in updates] == ["received"]


async def test_reporting_counts_a_replayed_intake_and_assignment_once(kafka_env, database_url):
    settings = ReportingSettings(database_url=database_url("reporting"), kafka=kafka_settings(kafka_env, service="reporting"), oidc=OIDC,
                                 **ops_login())
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    intake = intake_event(received_at=datetime(2026, 11, 10, 3, 0, tzinfo=UTC))
    routed = route_intake(intake=intake, catalog=default_catalog(), routed_at=datetime.now(UTC))
    bootstrap = kafka_env["KAFKA_BOOTSTRAP_SERVERS"]

    async with running(ISSUER.trust(build_reporting_app(settings))) as client:
        for _ in range(2):  # everything twice, as a replay after a crash would send it
            await produce(bootstrap, topics.intake_submitted, [(intake.intake_id.encode(), intake.model_dump_json().encode())])
            for item in routed:
                await produce(bootstrap, topics.referral_assigned(item.event.agency),
                              [(item.referral_id.encode(), item.event.model_dump_json().encode())])
        report = {}
        for _ in range(150):
            report = (await client.get("/v1/reports/monthly", params={"province": "64", "month": "2026-11"}, headers=office())).json()
            if report.get("by_status", {}).get("assigned") == 4:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)
        report = (await client.get("/v1/reports/monthly", params={"province": "64", "month": "2026-11"}, headers=office())).json()

    assert report["total"] == 4
    assert report["by_agency"] == {"employment": 1, "skills": 1, "welfare": 0, "social_security": 2}


async def test_the_outbox_relay_publishes_rows_a_crash_left_pending(kafka_env, database_url):
    from prometheus_client import CollectorRegistry

    from shared.kafka.connection import broker_security

    engine = make_engine(database_url("outbox"))
    await create_tables(engine, [OutboxMessage.__table__])
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    intake = intake_event()
    async with session_factory(engine)() as session:
        add_to_outbox(session, topic=topics.intake_submitted, key=intake.intake_id, event=intake)
        await session.commit()  # ...and the process "dies" before publishing

    bootstrap = kafka_env["KAFKA_BOOTSTRAP_SERVERS"]
    broker = build_broker(bootstrap_servers=bootstrap, service="test", registry=CollectorRegistry(),
                          security=broker_security(kafka_settings(kafka_env, service="intake")))
    await broker.start()
    try:
        relay = OutboxRelay(engine=engine, broker=broker)
        assert await relay.pending() == 1
        assert await relay.flush() == 1
        assert await relay.flush() == 0
    finally:
        await broker.stop()
        await engine.dispose()
    published = await read_topic(bootstrap, topics.intake_submitted, expect=1)
    assert json_of(published[0])["intake_id"] == intake.intake_id


async def test_intake_assignment_and_receipt_arriving_together_leave_every_fact_complete(kafka_env, database_url):
    """The three consumers write the same rows at the same moment; no status may go back and
    no first insert may collide."""
    from agency_adapters.lifecycle import updated_event
    from tests.support.examples import intake_for, thai_national_id
    import random

    settings = ReportingSettings(database_url=database_url("reporting"), kafka=kafka_settings(kafka_env, service="reporting"), oidc=OIDC,
                                 **ops_login())
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    bootstrap = kafka_env["KAFKA_BOOTSTRAP_SERVERS"]
    rng = random.Random(7)
    by_topic: dict[str, list[tuple[bytes, bytes]]] = {}
    for n in range(60):
        intake = intake_event(intake_for(thai_national_id(rng)), intake_id=f"00000000-0000-4000-8000-{n:012d}",
                              received_at=datetime(2026, 11, 10, 3, 0, tzinfo=UTC))
        by_topic.setdefault(topics.intake_submitted, []).append((intake.intake_id.encode(), intake.model_dump_json().encode()))
        for item in route_intake(intake=intake, catalog=default_catalog(), routed_at=datetime.now(UTC)):
            event = item.event
            by_topic.setdefault(topics.referral_assigned(event.agency), []).append((item.referral_id.encode(), event.model_dump_json().encode()))
            receipt = updated_event(referral_id=event.referral_id, intake_id=event.intake_id, agency=event.agency,
                                    person_ref=event.person_ref,
                                    status="received", previous_status="assigned", version=2, actor="system",
                                    occurred_at=datetime.now(UTC))
            by_topic.setdefault(topics.referral_updated, []).append((item.referral_id.encode(), receipt.model_dump_json().encode()))

    async with running(ISSUER.trust(build_reporting_app(settings))) as client:
        await asyncio.gather(*(produce(bootstrap, topic, messages) for topic, messages in by_topic.items()))
        report = {}
        for _ in range(300):
            report = (await client.get("/v1/reports/monthly", params={"province": "64", "month": "2026-11"}, headers=office())).json()
            # receipts can overtake assignments (other topic): wait for both to be applied
            if report.get("by_status", {}).get("received") == 240 and "unassigned" not in report["by_category"]:
                break
            await asyncio.sleep(0.2)

    assert report["total"] == 240
    assert report["by_status"] == {"received": 240}
    assert report["by_category"] == {"promote": 60, "develop": 60, "protect": 120}
    for topic in by_topic:
        assert await read_topic(bootstrap, f"{topic}.dlq", expect=1, timeout=1) == [], f"dead letters on {topic}"
