"""Least knowledge for intake: every assignment has a person-free twin on `referral.routed`
(routing's consumer, triage and an agency's transfer all queue it with the assignment), and
intake learns its referrals' statuses from that twin, never from the agencies' topics."""

import json
from datetime import UTC, datetime

import pytest
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import CollectorRegistry
from sqlmodel import select

from agency_adapters import repository as agency_repository
from agency_adapters.lifecycle import Move
from agency_adapters.models import TABLES as AGENCY_TABLES
from agency_adapters.workflow import Workbench, move_referral
from intake import repository as intake_repository
from intake.domain import PlannedReferral
from intake.handlers import register_status_handlers
from intake.models import TABLES as INTAKE_TABLES
from routing.domain import announcements, route_intake
from shared import ids
from shared.catalog import default_catalog
from shared.catalog.outcomes import default_outcomes
from shared.contracts import NeedUnroutableV1, ReferralAssignedV2, ReferralRoutedV1, ReferralUpdatedV2, routed_from
from shared.db import OutboxRelay, create_tables, make_engine, session_factory
from shared.db.outbox import OutboxMessage
from shared.kafka import build_broker
from shared.privacy.sealing import MOVE_REASON
from shared.settings import KafkaSettings
from tests.support.examples import contract_example, intake_event
from tests.support.sealing import MASTER_KEYS, identities, key_row

NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
# What the agencies' topics carry of the person and the routed twin must not.
PERSONAL_FIELDS = {"person", "person_ref", "need_note"}
# Everything else of the assignment but its event id, type and version.
COPIED = {"referral_id", "intake_id", "agency", "need_code", "category", "catalog_version", "routing_rule",
          "transferred_from", "occurred_at", "correlation_id", "producer"}


def assignments() -> list[ReferralAssignedV2]:
    routed = route_intake(intake=intake_event(), catalog=default_catalog(), routed_at=NOW)
    return [item.event for item in routed if isinstance(item.event, ReferralAssignedV2)]


def assert_person_free(payload: bytes | str) -> None:
    text = payload.decode() if isinstance(payload, bytes) else payload
    person, intake = contract_example()["person"], intake_event()
    assert not PERSONAL_FIELDS & set(json.loads(text)), text
    for value in (person["national_id"], person["full_name"], person["phone"], intake.person_ref,
                  intake.person.identity.ciphertext):
        assert value not in text


def test_the_routed_twin_copies_where_the_referral_went_and_nothing_of_the_person():
    for assigned in assignments():
        routed = routed_from(assigned)
        assert (routed.event_type, routed.schema_version) == ("referral.routed", 1)
        assert routed.model_dump(include=COPIED) == assigned.model_dump(include=COPIED)
        assert set(ReferralRoutedV1.model_fields).isdisjoint(PERSONAL_FIELDS)
        assert_person_free(routed.model_dump_json())


def test_the_routed_event_id_is_derived_from_the_assignment_so_a_redelivery_dedupes():
    first, again = assignments()[0], assignments()[0]
    assert routed_from(first).event_id == routed_from(again).event_id
    assert routed_from(first).event_id == ids.derived_event_id(source_id=str(first.event_id), purpose="routed")
    assert routed_from(first).event_id != first.event_id
    assert len({routed_from(a).event_id for a in assignments()}) == len(assignments())


def test_an_assignment_is_announced_twice_and_an_unroutable_need_once():
    topics = KafkaSettings(topic_prefix="unit.").topics
    assigned = assignments()[0]
    assert [topic for topic, _ in announcements(assigned, topics=topics)] == [
        topics.referral_assigned(assigned.agency), topics.referral_routed]
    unroutable = NeedUnroutableV1(event_id=ids.derived_event_id(source_id="r", purpose="unroutable"), occurred_at=NOW,
                                  correlation_id="i", producer="routing", referral_id="r", intake_id="i",
                                  need_code="moon_landing", reason="not in the catalog")
    assert announcements(unroutable, topics=topics) == [(topics.referral_unroutable, unroutable)]


async def test_routing_publishes_a_person_free_routed_event_for_every_assignment(routing_broker):
    broker, topics, relay = routing_broker
    assigned_ids: list[str] = []
    routed: list[tuple[bytes, bytes]] = []

    @broker.subscriber(*topics.all_assigned())
    async def on_assigned(body: dict) -> None:
        assigned_ids.append(body["referral_id"])

    @broker.subscriber(topics.referral_routed)
    async def on_routed(body: dict, message: KafkaMessage) -> None:
        routed.append((message.raw_message.key, message.body))

    async with TestKafkaBroker(broker) as test_broker:
        intake = intake_event()
        await test_broker.publish(intake, topics.intake_submitted, key=intake.intake_id.encode())
        await relay.flush()

    assert len(routed) == len(assigned_ids) == 4
    assert sorted(json.loads(body)["referral_id"] for _, body in routed) == sorted(assigned_ids)
    for key, body in routed:
        event = ReferralRoutedV1.model_validate_json(body)
        assert key == event.referral_id.encode()
        assert_person_free(body)


@pytest.fixture
async def intake_side(tmp_path):
    kafka = KafkaSettings(topic_prefix="unit.")
    broker = build_broker(bootstrap_servers="unused:9092", service="intake", registry=CollectorRegistry())
    engine = make_engine(f"sqlite:///{tmp_path}/intake.db")
    await create_tables(engine, INTAKE_TABLES)
    sessions = session_factory(engine)
    intake = intake_event()
    async with sessions() as session:
        planned = [PlannedReferral(need_code=need.code, referral_id=ids.referral_id(intake_id=intake.intake_id,
                                                                                    need_code=need.code))
                   for need in intake.needs]
        intake_repository.add_intake(session, event=intake, referrals=planned, warnings=[], submitted_by="clerk")
        await session.commit()
    register_status_handlers(broker=broker, kafka=kafka, sessions=sessions)
    yield broker, kafka.topics, sessions
    await engine.dispose()


def test_intake_reads_no_topic_that_carries_the_person(intake_side):
    broker, topics, _ = intake_side
    read = {topic for subscriber in broker.subscribers for topic in subscriber.topic_names}
    assert topics.referral_routed in read
    assert not read & set(topics.all_assigned())


async def test_intake_records_assigned_from_the_routed_event_and_a_transfer_as_its_continuation(intake_side):
    broker, topics, sessions = intake_side
    events = [routed_from(a) for a in assignments()]
    first = assignments()[0]
    continued = first.model_copy(update={
        "event_id": ids.derived_event_id(source_id="continued", purpose="assigned"), "referral_id": "continued-1",
        "agency": "welfare", "transferred_from": first.referral_id, "routing_rule": "transfer:employment->welfare"})

    async with TestKafkaBroker(broker) as test_broker:
        for event in [*events, events[0], routed_from(continued)]:  # the first one redelivered
            await test_broker.publish(event, topics.referral_routed, key=event.referral_id.encode())

    async with sessions() as session:
        _, statuses = await intake_repository.get_intake(session, intake_id=intake_event().intake_id)
    seen = {row.referral_id: (row.status, row.status_version, row.agency) for row in statuses}
    assert seen == {
        **{event.referral_id: ("assigned", 1, event.agency) for event in events},
        "continued-1": ("assigned", 1, "welfare"),
    }


async def test_a_transfer_queues_the_continuation_s_routed_twin_in_the_same_transaction(tmp_path):
    kafka = KafkaSettings(topic_prefix="unit.")
    broker = build_broker(bootstrap_servers="unused:9092", service="agency-adapters", registry=CollectorRegistry())
    engine = make_engine(f"sqlite:///{tmp_path}/agency.db")
    await create_tables(engine, AGENCY_TABLES)
    sessions = session_factory(engine)
    assigned = assignments()[0]
    async with sessions() as session:
        agency_repository.add_received(session, event=assigned, received_at=NOW)
        session.add(key_row(assigned.person_ref))  # the person's key copy, read from person.keys
        await session.commit()
    bench = Workbench(sessions=sessions, relay=OutboxRelay(engine=engine, broker=broker), topics=kafka.topics,
                      master_keys=MASTER_KEYS,
                      outcomes=default_outcomes())
    move = Move(status="transferred", actor="officer-1", reason="the need fits the other agency better",
                to_agency="skills" if assigned.agency != "skills" else "welfare")
    try:
        async with TestKafkaBroker(broker):
            answer = await move_referral(bench, referral_id=assigned.referral_id, move=move, gate=lambda _: None)
        async with sessions() as session:
            rows = (await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    finally:
        await engine.dispose()

    assert answer.status_code == 200, answer.body
    new_id = answer.body["transferred_to"]
    by_topic = {row.topic: row for row in rows}
    assert set(by_topic) == {kafka.topics.referral_updated, kafka.topics.referral_assigned(move.to_agency),
                             kafka.topics.referral_routed}
    routed_row = by_topic[kafka.topics.referral_routed]
    continuation = ReferralAssignedV2.model_validate_json(by_topic[kafka.topics.referral_assigned(move.to_agency)].payload)
    assert routed_row.key == new_id
    assert ReferralRoutedV1.model_validate_json(routed_row.payload) == routed_from(continuation)
    assert routed_from(continuation).transferred_from == assigned.referral_id
    assert_person_free(routed_row.payload)
    # The reason is about the person: on referral.updated it travels sealed with their key.
    updated = ReferralUpdatedV2.model_validate_json(by_topic[kafka.topics.referral_updated].payload)
    assert move.reason not in by_topic[kafka.topics.referral_updated].payload
    assert identities().text(updated.reason, person_ref=assigned.person_ref, field=MOVE_REASON) == move.reason
