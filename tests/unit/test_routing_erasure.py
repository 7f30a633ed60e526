"""What routing deletes when a person is erased: the sealed copies it held for triage and the
reason staff typed when they triaged the person's need (it may name them). The decisions stay:
why a need went where it went, without the words."""

import json
import uuid
from datetime import UTC, datetime

from faststream.kafka import TestKafkaBroker
from sqlmodel import select

from routing import repository
from routing.domain import ERASED_REASON, manual_decision
from routing.models import RoutingDecision
from shared.db import make_engine, session_factory
from tests.support.examples import contract_example, intake_event

REASON = "คุณสมชายขอเรียนขับรถไถ ส่งพัฒนาฝีมือแรงงาน"


async def test_erasure_removes_the_triage_reason_and_the_sealed_copies_and_keeps_the_decisions(routing_broker, tmp_path):
    broker, topics, relay = routing_broker
    body = contract_example()
    body["needs"].append({"code": "not_in_the_catalog", "note": "ต้องการความช่วยเหลือเรื่องที่พัก"})
    intake = intake_event(body, intake_id=str(uuid.uuid4()))
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(intake, topics.intake_submitted, key=intake.intake_id.encode())
        await relay.flush()
    engine = make_engine(f"sqlite:///{tmp_path}/routing.db")
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            (waiting,) = (await session.exec(select(RoutingDecision).where(RoutingDecision.state == "unroutable"))).all()
            decision = manual_decision(agency="skills", category="develop", actor="office-64", reason=REASON)
            repository.record_triage(session, row=waiting, decision=decision, actor="office-64", reason=REASON,
                                     at=datetime.now(UTC))
            await session.commit()
        async with sessions() as session:
            removed = await repository.erase_person(session, intake.person_ref)
            await session.commit()
        async with sessions() as session:
            rows = (await session.exec(select(RoutingDecision))).all()
    finally:
        await engine.dispose()

    assert removed == {"routing_decisions": 4, "triage_reasons": 1}  # four needs had a note, one was triaged
    assert all(row.need_note is None and row.person_json is None for row in rows)
    (triaged,) = [row for row in rows if row.state == "triaged"]
    assert REASON not in triaged.explanation and REASON not in triaged.history_json
    assert triaged.explanation == f"Routed to skills by office-64 at triage: {ERASED_REASON}"
    assert [(h["state"], h["reason"]) for h in json.loads(triaged.history_json)][-1] == ("triaged", ERASED_REASON)
    assert (triaged.agency, triaged.category, triaged.rule) == ("skills", "develop", "manual")
    assert len(rows) == 5
