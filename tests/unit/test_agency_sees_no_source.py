"""PDPA s.26 on the agencies' side: the same person's intake from each source programme gives
every agency the same things, so no agency can tell who came from a drug-rehabilitation or CI
centre. Compared: the `referral.assigned.<agency>` events (a transfer's continuation too), the
routing decision and its explanation (agency staff read GET /v1/referrals/{id}/routing), the
agency view of the workbench, each referral's history, the webhook body, the receipts on
`referral.updated` and the notices on `referral.overdue`. Ids and times are left out where the
intakes must differ in them (they are two intakes); with the same intake id and time, routing's
events are the same to the byte.
"""

import json
import re
import uuid
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

from faststream.kafka import TestKafkaBroker
from prometheus_client import CollectorRegistry
from sqlmodel import select

from agency_adapters import repository as agency_repository
from agency_adapters.handlers import register_agency_consumers
from agency_adapters.lifecycle import Move
from agency_adapters.models import TABLES as AGENCY_TABLES
from agency_adapters.models import AgencyReferral
from agency_adapters.overdue import OverdueWatch
from agency_adapters.views import agency_view, move_view
from agency_adapters.webhooks.dispatcher import delivery_body
from agency_adapters.workflow import Workbench, move_referral
from routing.api import explanation_of
from routing.domain import agency_view_of, announcements, route_intake
from routing.handlers import register_routing_handlers
from routing.models import TABLES as ROUTING_TABLES
from routing.models import RoutingDecision
from shared import contracts
from shared.agencies import AGENCIES
from shared.catalog import NeedCatalog, ProvinceOverride, default_catalog
from shared.catalog.outcomes import default_outcomes
from shared.contracts import ReferralAssignedV2
from shared.privacy import identities_of
from shared.db import OutboxRelay, create_tables, make_engine, session_factory
from shared.kafka import build_broker
from shared.kafka.topology import all_acls
from shared.settings import KafkaSettings
from shared.topics import Topics
from tests.support.examples import contract_example, intake_event
from tests.support.source_twins import PROGRAMMES, twins
from tests.support.sealing import MASTER_KEYS, key_row

ROUTED_AT = datetime(2026, 11, 2, 2, 31, tzinfo=UTC)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIMES = frozenset({"occurred_at", "assigned_at", "updated_at", "sent_at", "at", "decided_at"})


def person_with_every_kind_of_need() -> dict:
    """The contract example (notes included) plus a need a province override routes and a code
    routing does not know (left for triage)."""
    body = contract_example()
    body["needs"] += [{"code": "overseas_worker_rights", "note": "เคยทำงานที่ไต้หวัน"}, {"code": "debt_counselling"}]
    return body


def catalog_with_an_override() -> NeedCatalog:
    catalog = default_catalog()
    override = ProvinceOverride(province="64", need="overseas_worker_rights", agency="employment",
                                reason="Sukhothai's returnees are served by the employment office's overseas desk")
    return NeedCatalog(version=catalog.version, needs=catalog.needs,
                       overrides={("64", "overseas_worker_rights"): override})


def scrub(value: object) -> object:
    """`value` without what two intakes must differ in: ids (UUIDs, also inside URLs and
    sentences), the times they were routed, received and moved, and sealed values (a new nonce
    each time; what they hold is compared opened, in the views and the webhook body)."""
    if isinstance(value, dict) and {"ciphertext", "nonce", "key_id"} <= value.keys():
        return "<sealed>"
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items() if key not in _TIMES}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return _UUID.sub("<id>", value)
    return value


def assert_same_for_every_programme(seen: dict[str, object]) -> None:
    assert sorted(seen) == sorted(PROGRAMMES)
    first = seen[PROGRAMMES[0]]
    for program, found in seen.items():
        assert found == first, f"{program} differs from {PROGRAMMES[0]}"


def test_the_programme_travels_only_on_intake_submitted_which_no_agency_login_may_read():
    events = [getattr(contracts, name) for name in contracts.__all__ if re.search(r"V[0-9]+$", name)]
    carrying = [event.__name__ for event in events if '"program"' in json.dumps(event.model_json_schema())]
    assert carrying == ["IntakeSubmittedV2"]
    kafka = KafkaSettings()
    topic = kafka.topics.intake_submitted
    readers = {(acl.principal, acl.resource) for acl in all_acls(kafka)
               if acl.resource_type == "TOPIC" and acl.operation == "READ"
               and (acl.resource.startswith(topic) or acl.pattern == "PREFIXED" and topic.startswith(acl.resource))}
    # Routing and reporting take intakes in; the ops view lists dead letters by headers, never payloads.
    assert readers == {("songtor-routing", "intake.submitted"), ("songtor-reporting", "intake.submitted"),
                       ("songtor-ops", "intake.submitted.dlq")}


def test_routing_decides_and_announces_the_same_whichever_programme_sent_the_person():
    catalog, topics = catalog_with_an_override(), Topics(prefix="unit.")
    seen = {}
    for program, body in twins(person_with_every_kind_of_need()).items():
        intake = intake_event(body)  # the same intake id and time for each: only the programme differs
        assert intake.source.program == program
        routed = route_intake(intake=intake, catalog=catalog, routed_at=ROUTED_AT)
        seen[program] = {
            "agency_view": scrub(agency_view_of(intake).model_dump(mode="json")),
            "decisions": [asdict(r.decision) if r.decision else None for r in routed],
            "announced": [(topic, scrub(json.loads(event.model_dump_json()))) for r in routed
                          for topic, event in announcements(r.event, topics=topics)],
        }
    assert_same_for_every_programme(seen)
    rules = {rule for found in seen.values() for rule in (d["rule"] for d in found["decisions"] if d)}
    assert rules == {"need:job_registration", "need:skill_training", "need:ss_article40_enrolment",
                     "need:ss_article33_benefit_check", "province:64/need:overseas_worker_rights"}


async def test_every_agency_receives_reads_and_is_told_the_same_whichever_programme_sent_the_person(tmp_path):
    kafka = KafkaSettings(topic_prefix="unit.")
    topics = kafka.topics
    intake_ids = {str(uuid.uuid5(uuid.NAMESPACE_URL, f"twin/{p}")): p for p in PROGRAMMES}
    intakes = {program: intake_event(body, intake_id=next(i for i, p in intake_ids.items() if p == program))
               for program, body in twins(person_with_every_kind_of_need()).items()}
    heard: dict[str, list[dict]] = {}

    def listen(broker, topic: str) -> None:  # noqa: ANN001
        @broker.subscriber(topic)
        async def capture(body: dict) -> None:
            heard.setdefault(topic, []).append(body)

    # Routing: its consumer, its database and outbox, as the service runs them.
    routing_broker = build_broker(bootstrap_servers="unused:9092", service="routing", registry=CollectorRegistry())
    routing_engine = make_engine(f"sqlite:///{tmp_path}/routing.db")
    await create_tables(routing_engine, ROUTING_TABLES)
    routing_relay = OutboxRelay(engine=routing_engine, broker=routing_broker)
    register_routing_handlers(broker=routing_broker, kafka=kafka, catalog=catalog_with_an_override(),
                              sessions=session_factory(routing_engine), relay=routing_relay)
    for topic in topics.all_assigned():
        listen(routing_broker, topic)
    async with TestKafkaBroker(routing_broker) as test_broker:
        for intake in intakes.values():
            await test_broker.publish(intake, topics.intake_submitted, key=intake.intake_id.encode())
        await routing_relay.flush()
    async with session_factory(routing_engine)() as session:
        decisions = [explanation_of(row) for row in (await session.exec(select(RoutingDecision))).all()]
    await routing_engine.dispose()
    assigned = [ReferralAssignedV2.model_validate(body) for topic in topics.all_assigned() for body in heard.get(topic, [])]
    assert len(assigned) == 5 * len(PROGRAMMES)

    # The agencies: every agency's consumer, a webhook for each, the workbench's moves, the overdue watch.
    agency_broker = build_broker(bootstrap_servers="unused:9092", service="agency-adapters", registry=CollectorRegistry())
    agency_engine = make_engine(f"sqlite:///{tmp_path}/agency.db")
    await create_tables(agency_engine, AGENCY_TABLES)
    sessions = session_factory(agency_engine)
    relay = OutboxRelay(engine=agency_engine, broker=agency_broker)
    register_agency_consumers(broker=agency_broker, kafka=kafka, sessions=sessions, relay=relay,
                              webhook_agencies=frozenset(AGENCIES))
    heard.clear()
    for topic in (*topics.all_assigned(), topics.referral_updated, topics.referral_overdue):
        listen(agency_broker, topic)
    bench = Workbench(sessions=sessions, relay=relay, topics=topics, outcomes=default_outcomes(), master_keys=MASTER_KEYS)
    async with sessions() as session:  # the keys the adapters would have read on person.keys
        session.add_all([key_row(ref) for ref in {event.person_ref for event in assigned}])
        await session.commit()
    async with TestKafkaBroker(agency_broker) as test_broker:
        for event in assigned:  # routed at one fixed time, so that the deadlines fall alike
            await test_broker.publish(event.model_copy(update={"occurred_at": ROUTED_AT}),
                                      topics.referral_assigned(event.agency), key=event.referral_id.encode())
        await relay.flush()
        # The provincial office transfers each person's job registration to the skills office.
        for event in assigned:
            if event.need_code == "job_registration":
                answer = await move_referral(bench, referral_id=event.referral_id, gate=lambda _referral: None,
                                             move=Move(status="transferred", actor="province-64", to_agency="skills",
                                                       reason="The skills office runs the course first"))
                assert answer.status_code == 200, answer.body
        await relay.flush()  # the continuation reaches the skills consumer, its receipt follows
        await relay.flush()
        watch = OverdueWatch(sessions=sessions, relay=relay, topics=topics, policies={}, interval_seconds=60)
        assert await watch.scan(today=date(2027, 1, 29)) > 0
    async with sessions() as session:
        referrals = (await session.exec(select(AgencyReferral))).all()
        identities = await identities_of(session, wrapper=MASTER_KEYS, person_refs={r.person_ref for r in referrals})
        read = [{"view": agency_view(r, identities=identities),
                 "history": [move_view(m, person_ref=r.person_ref, identities=identities)
                             for m in await agency_repository.history(session, referral_id=r.referral_id)],
                 "webhook": json.loads(delivery_body(referral=r, identities=identities, attempt=1, sent_at=ROUTED_AT + timedelta(hours=1),
                                                     public_url="https://songtor.example"))}
                for r in referrals]
    await agency_engine.dispose()

    program_of = {**intake_ids, **{e.referral_id: intake_ids[e.intake_id] for e in assigned}}
    program_of |= {r.referral_id: intake_ids[r.intake_id] for r in referrals}  # the continuations
    seen: dict[str, dict[str, list]] = {program: {} for program in PROGRAMMES}
    for what, items, whose in (
        ("assigned and routing's explanation", [*map(lambda e: e.model_dump(mode="json"), assigned), *decisions],
         lambda item: item["intake_id"]),
        ("on the agencies' topics", [body for bodies in heard.values() for body in bodies], lambda item: item["intake_id"]),
        ("workbench, history and webhook", read, lambda item: item["view"]["referral_id"]),
    ):
        for item in items:
            seen[program_of[whose(item)]].setdefault(what, []).append(json.dumps(scrub(item), sort_keys=True, ensure_ascii=False))
    seen = {program: {what: sorted(found) for what, found in parts.items()} for program, parts in seen.items()}
    assert_same_for_every_programme(seen)
    # What was compared is all there: five referrals each plus the continuation, receipts and notices.
    one = seen[PROGRAMMES[0]]
    assert len(one["workbench, history and webhook"]) == 6
    assert {json.loads(b)["event_type"] for b in one["on the agencies' topics"]} == {
        "referral.assigned", "referral.updated", "referral.overdue"}
