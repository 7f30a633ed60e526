"""The agency adapters' and routing's retention rules, on SQLite files with a controlled clock,
over rows written by the services' own paths: a referral closed for the period loses its copy of
the person and the free text about them (and its views then show `"person": null`), an open or
lately closed one keeps them; routing's note of a routed need goes, a need waiting for triage
keeps note and person."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from faststream.kafka import TestKafkaBroker
from sqlalchemy import select

from agency_adapters import repository
from agency_adapters.lifecycle import Move
from agency_adapters.models import TABLES as AGENCY_TABLES, AgencyReferral, ReferralMove
from agency_adapters.retention import PURGED_PERSON_JSON, agency_purges
from agency_adapters.settings import AgencySettings
from agency_adapters.views import agency_view, move_view
from agency_adapters.webhooks.dispatcher import delivery_body
from agency_adapters.workflow import Workbench, move_referral
from routing.models import RoutingDecision
from routing.retention import routing_purges
from routing.settings import RoutingSettings
from shared.catalog.outcomes import load_outcomes
from shared.db import create_tables, make_engine, session_factory
from shared.db.retention import Purger
from shared.privacy import seal_text
from shared.privacy.sealing import note_field
from shared.retention.settings import RetentionSettings
from shared.topics import Topics
from tests.support.examples import assigned_events, contract_example, intake_event
from tests.support.sealing import MASTER_KEYS, identities, key_row, person_key
from tests.support.relays import RelayLeftForLater

RETENTION = RetentionSettings(closed_referral_days=365, routed_note_days=30)


@pytest.fixture
async def agency(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/agency.db")
    await create_tables(engine, AGENCY_TABLES)
    sessions = session_factory(engine)
    bench = Workbench(sessions=sessions, relay=RelayLeftForLater(), topics=Topics(prefix=""), outcomes=load_outcomes(),
                      master_keys=MASTER_KEYS)
    purger = Purger(engine=engine, purges=agency_purges(AgencySettings(retention=RETENTION)))
    yield sessions, bench, purger
    await engine.dispose()


async def receive(sessions, need: str = "job_registration") -> str:  # noqa: ANN001
    (event,) = assigned_events(need, 1)
    note = seal_text("อยากทำงานใกล้บ้าน, ติดต่อคุณสมชาย", key=person_key(event.person_ref), field=note_field(need),
                     sealed_in=str(event.event_id))
    event = event.model_copy(update={"need_note": note})
    async with sessions() as session:
        repository.add_received(session, event=event, received_at=datetime.now(UTC))
        session.add(key_row(event.person_ref))  # the person's key copy, read from person.keys
        await session.commit()
    return event.referral_id


async def move(bench: Workbench, referral_id: str, **fields) -> None:  # noqa: ANN003
    answer = await move_referral(bench, referral_id=referral_id, move=Move(actor="officer-1", **fields),
                                 gate=lambda _referral: None)
    assert answer.status_code == 200, answer.body


async def stored(sessions, referral_id: str) -> tuple[AgencyReferral, list[ReferralMove]]:  # noqa: ANN001
    async with sessions() as session:
        return (await repository.get_referral(session, referral_id=referral_id),
                await repository.history(session, referral_id=referral_id))


async def test_a_referral_closed_for_the_period_loses_the_person_and_the_free_text_and_keeps_the_rest(agency):
    sessions, bench, purger = agency
    cancelled, completed, working, received = [await receive(sessions) for _ in range(4)]
    await move(bench, cancelled, status="cancelled", reason="ย้ายไปอยู่กรุงเทพกับลูกสาว", note="โทร 0812345678")
    await move(bench, completed, status="accepted", note="นัดพบวันจันทร์")
    await move(bench, completed, status="completed", outcome_code="registered", note="ลงทะเบียนแล้ว")
    await move(bench, working, status="accepted", note="กำลังหางาน")
    later = datetime.now(UTC) + timedelta(days=365, minutes=1)

    assert (await purger.run_once(now=later - timedelta(days=2)))["agency.person"] == 0  # closed 363 days: kept
    counts = await purger.run_once(now=later)
    assert (counts["agency.person"], counts["agency.move_notes"]) == (2, 3)
    assert await purger.run_once(now=later) == {"agency.move_notes": 0, "agency.person": 0}

    for referral_id in (cancelled, completed):
        referral, moves = await stored(sessions, referral_id)
        assert (referral.person_json, referral.need_note, referral.note) == (PURGED_PERSON_JSON, None, None)
        view = agency_view(referral, identities=identities())
        assert view["person"] is None and view["status"] in ("cancelled", "completed")
        assert [(m.note, m.reason) for m in moves[2:]] == [(None, None)] * (len(moves) - 2)
        assert moves[0].note.startswith("routing rule"), "the system's own moves say nothing of the person"
        assert [move_view(m, person_ref=referral.person_ref, identities=identities())["status"] for m in moves][-1] == referral.status
        body = json.loads(delivery_body(referral=referral, identities=identities(), attempt=1, sent_at=later,
                                        public_url="http://a"))
        assert body["referral"]["person"] is None  # a parked delivery re-driven afterwards still sends
    assert (await stored(sessions, completed))[0].outcome_code == "registered"
    for referral_id in (working, received):
        referral, moves = await stored(sessions, referral_id)
        assert json.loads(referral.person_json)["identity"]["ciphertext"] and referral.need_note
        assert agency_view(referral, identities=identities())["person"]["national_id"]
    referral, moves = await stored(sessions, working)
    assert "กำลังหางาน" not in moves[-1].note, "kept sealed with the person's key"
    assert move_view(moves[-1], person_ref=referral.person_ref, identities=identities())["note"] == "กำลังหางาน"
    assert agency_view(referral, identities=identities())["note"] == "กำลังหางาน"


@pytest.fixture
async def routing_rows(routing_broker, tmp_path):
    """Routing's handler on the in-memory broker decides an intake with a need it cannot route."""
    broker, topics, relay = routing_broker
    body = contract_example()
    body["needs"].append({"code": "not_in_the_catalog", "note": "ต้องการความช่วยเหลือเรื่องที่พัก"})
    intake = intake_event(body, intake_id=str(uuid.uuid4()))
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(intake, topics.intake_submitted, key=intake.intake_id.encode())
        await relay.flush()
    engine = make_engine(f"sqlite:///{tmp_path}/routing.db")
    yield engine
    await engine.dispose()


async def test_a_routed_needs_note_goes_after_the_period_and_a_need_waiting_for_triage_keeps_everything(
        routing_rows):
    engine = routing_rows
    purger = Purger(engine=engine, purges=routing_purges(RoutingSettings(retention=RETENTION)))
    decisions = RoutingDecision.__table__
    later = datetime.now(UTC) + timedelta(days=30, minutes=1)

    assert (await purger.run_once(now=later - timedelta(days=2)))["routing.need_note"] == 0
    assert (await purger.run_once(now=later))["routing.need_note"] == 3  # three of the four needs had a note
    assert (await purger.run_once(now=later))["routing.need_note"] == 0

    async with engine.connect() as connection:
        rows = (await connection.execute(select(decisions.c.state, decisions.c.need_note, decisions.c.person_json,
                                                decisions.c.explanation))).all()
    routed = [row for row in rows if row.state == "routed"]
    (waiting,) = [row for row in rows if row.state == "unroutable"]
    assert len(routed) == 4 and all(row.need_note is None and row.person_json is None for row in routed)
    assert all(row.explanation for row in routed), "why it went where it went stays"
    assert waiting.need_note and json.loads(waiting.person_json)["identity"]["ciphertext"]

