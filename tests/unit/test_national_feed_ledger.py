"""The national feed's ledger (reporting/national_feed/ledger.py) on SQLite: which people are fed,
their records in order whatever order the events come in, withdrawal and consent given again,
redelivery, and the order records are picked in (queue.py)."""

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from agency_adapters.lifecycle import Move, updated_event
from reporting.national_feed import ledger, queue
from reporting.national_feed.contract import NationalRecordV1
from reporting.national_feed.ledger import FeedRules
from reporting.national_feed.mapping import load_assistance_map
from reporting.national_feed.models import FEED_TABLES, FeedRecord
from reporting.national_feed.records import record_to_send
from routing.domain import route_intake
from shared.catalog import default_catalog
from shared.catalog.outcomes import default_outcomes
from shared.contracts import ReferralAssignedV2
from shared.contracts.person import PersonConsentWithdrawnV1
from shared.db import create_tables, make_engine, session_factory
from shared.db.inbox import InboxEntry
from tests.support.examples import contract_example, intake_event, thai_national_id

OUTCOMES = default_outcomes()
RULES = FeedRules(mapping=load_assistance_map(outcomes=OUTCOMES), outcomes=OUTCOMES,
                  joins=lambda org_unit, _at: org_unit == "6406")
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/reporting.db")
    await create_tables(engine, [*FEED_TABLES, InboxEntry.__table__])
    yield session_factory(engine)
    await engine.dispose()


def body(*, program: str = "rehab_center", national: bool | None = True, org_unit: str = "6406", seed: int = 1) -> dict:
    found = copy.deepcopy(contract_example())
    import random
    found["person"]["national_id"] = thai_national_id(random.Random(seed))
    found["source"].update(program=program, org_unit=org_unit)
    found["needs"] = [{"code": "job_registration"}, {"code": "skill_training"}]
    if national is not None:
        found["consent"]["share_with_national_system"] = national
    return found


def intake(found: dict, *, at: datetime = T0):  # noqa: ANN201
    return intake_event(found, intake_id=str(uuid.uuid4()), received_at=at)


def assignments(event) -> list[ReferralAssignedV2]:  # noqa: ANN001
    return [r.event for r in route_intake(intake=event, catalog=default_catalog(), routed_at=event.received_at + timedelta(seconds=1))
            if isinstance(r.event, ReferralAssignedV2)]


def moves(assigned: ReferralAssignedV2, *steps: str, outcome: str | None = None) -> list:
    out, previous = [], "assigned"
    for version, status in enumerate(steps, start=2):
        last = version == len(steps) + 1
        move = Move(status=status, actor="officer-1", outcome_code=outcome if last else None,  # type: ignore[arg-type]
                    details={"employer": "บจก. สุโขทัยการเกษตร", "position": "พนักงาน", "monthly_wage": 9000}
                    if last and outcome == "placed" else {})
        out.append(updated_event(referral_id=assigned.referral_id, intake_id=assigned.intake_id, person_ref=assigned.person_ref,
                                 agency=assigned.agency, status=status, previous_status=previous, version=version,  # type: ignore[arg-type]
                                 actor="officer-1", occurred_at=assigned.occurred_at + timedelta(hours=version), move=move))
        previous = status
    return out


async def apply(sessions, *, intakes=(), assigned=(), updated=(), withdrawals=()) -> None:  # noqa: ANN001
    async with sessions() as session:
        if intakes:
            await ledger.on_intakes(session, intakes=list(intakes), rules=RULES)
        if assigned:
            await ledger.on_assigned(session, events=list(assigned), rules=RULES)
        if updated:
            await ledger.on_updated(session, events=list(updated), rules=RULES)
        if withdrawals:
            await ledger.on_withdrawals(session, events=list(withdrawals))
        await session.commit()


async def records(sessions) -> list[FeedRecord]:  # noqa: ANN001
    async with sessions() as session:
        return list((await session.exec(select(FeedRecord).order_by(col(FeedRecord.person_ref), col(FeedRecord.position)))).all())


def withdrawal(person_ref: str, at: datetime) -> PersonConsentWithdrawnV1:
    return PersonConsentWithdrawnV1(
        event_id=uuid.uuid4(), occurred_at=at, correlation_id=person_ref, producer="intake", withdrawal_id=str(uuid.uuid4()),
        person_ref=person_ref, consent="national_system", withdrawn_at=at, withdrawn_by="clerk-6406")


async def test_a_consented_rehab_person_is_fed_in_order_and_nothing_names_them_at_rest(sessions):
    event = intake(body())
    job, training = assignments(event)
    await apply(sessions, intakes=[event], assigned=[job, training],
                updated=moves(job, "received", "accepted", "completed", outcome="placed"))

    found = await records(sessions)
    assert [(r.kind, r.version) for r in found] == [("person", 0), ("assistance", 1), ("assistance", 1),
                                                    ("assistance", 2), ("assistance", 3), ("assistance", 4)]
    assert [r.position for r in found] == [1, 2, 3, 4, 5, 6] and all(r.state == "pending" for r in found)
    for record in found:
        assert event.person.identity.ciphertext not in record.body_json
        assert "สมชาย" not in record.body_json and json.loads(record.body_json)["person_id"] == event.person_ref
    done = json.loads(found[-1].body_json)
    assert done["assistance"]["status"] == "completed" and done["replaces"] == found[4].delivery_id
    assert done["assistance"]["outcome"]["national_category"]["code"] == "occupation"
    assert done["assistance"]["outcome"]["details"]["employer"] == "บจก. สุโขทัยการเกษตร"
    sent = NationalRecordV1.model_validate_json(record_to_send(
        body_json=found[0].body_json, sequence=1, identity={"national_id": "3640100456781", "full_name": "สมชาย ใจดี"}))
    assert sent.person is not None and sent.centre.program == "rehab_center"


@pytest.mark.parametrize(("program", "national", "org_unit"), [
    ("rehab_center", False, "6406"), ("rehab_center", None, "6406"), ("ci_center", True, "2401"),
    ("walk_in", None, "6406"), ("tpmap", None, "6406"),
])
async def test_no_record_without_consent_from_another_programme_or_a_centre_that_has_not_joined(sessions, program, national,
                                                                                                 org_unit):
    event = intake(body(program=program, national=national, org_unit=org_unit))
    job, _ = assignments(event)
    await apply(sessions, intakes=[event], assigned=assignments(event), updated=moves(job, "received"))
    assert await records(sessions) == []


async def test_events_before_what_they_need_wait_and_come_out_in_order_once(sessions):
    event = intake(body())
    job, training = assignments(event)
    updates = moves(job, "received", "accepted")
    await apply(sessions, updated=list(reversed(updates)))
    await apply(sessions, assigned=[job])
    assert await records(sessions) == [], "nothing before the intake: whether the person is fed is not known yet"
    await apply(sessions, intakes=[event])
    await apply(sessions, intakes=[event], assigned=[job, training], updated=updates)  # all of it again

    found = await records(sessions)
    assert [(r.kind, r.referral_id, r.version) for r in found] == [
        ("person", None, 0), ("assistance", job.referral_id, 1), ("assistance", job.referral_id, 2),
        ("assistance", job.referral_id, 3), ("assistance", training.referral_id, 1)]


async def test_a_withdrawal_stops_the_feed_and_consent_given_again_sends_what_it_held(sessions):
    event = intake(body())
    job, training = assignments(event)
    await apply(sessions, intakes=[event], assigned=[job])
    await apply(sessions, withdrawals=[withdrawal(event.person_ref, T0 + timedelta(hours=1))])
    await apply(sessions, assigned=[training], updated=moves(job, "received"))
    assert {r.state for r in await records(sessions)} == {"withdrawn"}
    assert len(await records(sessions)) == 2, "nothing recorded after the withdrawal"

    again = body()
    again["consent"]["recorded_at"] = (T0 + timedelta(days=1)).isoformat()
    await apply(sessions, intakes=[intake(again, at=T0 + timedelta(days=1))])
    found = await records(sessions)
    assert [(r.kind, r.state) for r in found] == [("person", "pending"), ("assistance", "pending")]


async def test_records_go_one_at_a_time_per_person_and_a_parked_one_holds_its_person_back(sessions):
    first, second = intake(body(seed=1)), intake(body(seed=2))
    await apply(sessions, intakes=[first, second], assigned=[*assignments(first), *assignments(second)])
    async with sessions() as session:
        claimed = await queue.claim_due(session, now=datetime.now(UTC), limit=10, lease=timedelta(seconds=30))
    assert sorted((r.kind, r.sequence) for r in claimed) == [("person", 1), ("person", 1)]
    async with sessions() as session:
        assert await queue.claim_due(session, now=datetime.now(UTC), limit=10, lease=timedelta(seconds=30)) == []
        await session.exec(FeedRecord.__table__.update().where(FeedRecord.__table__.c.delivery_id == claimed[0].delivery_id)
                           .values(state="parked", lease_until=None))
        await session.exec(FeedRecord.__table__.update().where(FeedRecord.__table__.c.delivery_id == claimed[1].delivery_id)
                           .values(state="delivered", lease_until=None))
        await session.commit()
    async with sessions() as session:
        after = await queue.claim_due(session, now=datetime.now(UTC), limit=10, lease=timedelta(seconds=30))
        shown = await queue.backlog(session)
    assert [(r.person_ref, r.sequence) for r in after] == [(claimed[1].person_ref, 2)]
    assert shown["by_state"]["parked"] == 1 and shown["held_back"] == 3


async def test_the_backfill_reads_each_person_s_answer_as_it_stands_at_the_end_of_the_log():
    from reporting.national_feed.backfill import Consents

    yes, later_no, walk_in = intake(body(seed=41)), intake(body(seed=42), at=T0), intake(body(seed=43, program="walk_in", national=None))
    no_body = body(seed=42, national=False)
    no_body["consent"]["recorded_at"] = (T0 + timedelta(days=2)).isoformat()
    said_no_after = intake(no_body, at=T0 + timedelta(days=2))
    withdrew = intake(body(seed=44))
    consents = Consents()
    await consents.read_intakes([yes, said_no_after, later_no, walk_in, withdrew])
    await consents.read_withdrawals([withdrawal(withdrew.person_ref, T0 + timedelta(days=1))])
    assert consents.stands(yes.person_ref)
    assert not consents.stands(later_no.person_ref), "the latest answer stands, whatever order the log gives"
    assert not consents.stands(walk_in.person_ref) and not consents.stands(withdrew.person_ref)
