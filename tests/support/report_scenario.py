"""The fixed reporting scenario: 36 people taken in during September 2026 (Asia/Bangkok) in two
provinces, as the events the services would have published, built the way they build them
(intake: intake.domain; routing: routing.domain.route_intake; agencies: lifecycle.updated_event).
Fixed ids, times and national IDs: the same events on every run, so the forms they make can be
compared with files kept in the repository (tests/fixtures/report-scenario/).

Who is who, and what each case is for, is in `PEOPLE` below; tests/e2e/test_report_scenario.py
says what the forms must therefore show.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from stdnum.th import pin

from agency_adapters.lifecycle import Move, updated_event
from intake.domain import build_intake_event
from intake.request import IntakeRequest
from routing.domain import route_intake
from shared import ids
from shared.catalog import default_catalog
from shared.contracts import EventEnvelope, IntakeSubmittedV2, ReferralAssignedV2
from shared.topics import Topics
from tests.support.sealing import key_issued, person_key

BANGKOK = ZoneInfo("Asia/Bangkok")
MONTH = "2026-09"
ORG_UNITS = ("6401", "6406", "2401", "2402")
PROVINCES = ("64", "24")
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://songtor.example/report-scenario")
UNROUTABLE = "debt_counselling"  # known to a newer intake catalog, not to routing's: no rule
STEP = {"received": ["received"], "accepted": ["received", "accepted"],
        "in_progress": ["received", "accepted", "in_progress"], "completed": ["received", "accepted", "completed"],
        "declined": ["received", "declined"], "unreachable": ["received", "accepted", "unreachable"],
        "cancelled": ["received", "cancelled"], "transferred": ["received", "accepted", "transferred"]}


def bkk(day: str, hhmm: str = "15:00") -> datetime:
    """A Bangkok time: '09-14' is 2026-09-14, '10-07' is 2026-10-07."""
    return datetime.fromisoformat(f"2026-{day}T{hhmm}:00").replace(tzinfo=BANGKOK)


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Where the agency takes one referral: `end` is its last status, reached at `on` (Bangkok;
    default an hour after the step before)."""

    end: str = "received"
    on: datetime | None = None
    outcome: str | None = None
    details: dict = field(default_factory=dict)
    reason_code: str | None = None
    reason: str | None = None
    to_agency: str | None = None
    then: "Plan | None" = None  # the continuation at `to_agency`, for a transfer


def done(outcome: str, day: str, **details: str | int) -> Plan:
    return Plan(end="completed", on=bkk(day), outcome=outcome, details=details)


SERVICE = None  # drug_prevention_outreach: delivered at intake, no referral
OPEN, ACCEPTED, IN_PROGRESS = Plan(), Plan(end="accepted"), Plan(end="in_progress")


@dataclass(frozen=True, kw_only=True)
class Person:
    slug: str
    name: str
    national_id: str
    sex: str
    born: str
    worker: str
    program: str
    org_unit: str
    subdistrict: str
    at: datetime
    needs: dict[str, Plan | None]


def p(slug, name, nid, sex, born, worker, program, unit, sub, at, needs):  # noqa: ANN001, ANN201 - table rows
    return Person(slug=slug, name=name, national_id=nid, sex=sex, born=born, worker=worker, program=program,
                  org_unit=unit, subdistrict=sub, at=at, needs=needs)


PEOPLE: tuple[Person, ...] = (
    # --- Sukhothai (64), org unit 6401 อ.เมืองสุโขทัย ---
    p("s01", "สมศรี แก้วมณี", "3640100012344", "female", "1975-04-02", "informal", "informal_labour_unit", "6401",
      "640101", bkk("09-02", "10:15"), {"job_registration": done("registered", "09-04"),
                                        "ss_article40_enrolment": done("enrolled_article40", "09-08")}),
    p("s02", "บุญมี ทองดี", "3640100091538", "male", "1958-06-30", "elderly", "walk_in", "6401", "640102",
      bkk("09-03", "14:00"), {"ss_article33_benefit_check": done("benefit_eligible", "10-07", amount=48000,
                                                                 due_date="2026-10-15")}),  # late outcome
    p("s03", "วิชัย ศรีสุข", "3640100170721", "male", "1980-01-15", "disabled", "informal_labour_unit", "6401",
      "640103", bkk("09-07", "09:30"), {"skill_training": done("enrolled", "09-21", course="ช่างซ่อมโทรศัพท์มือถือ")}),
    p("s04", "นงลักษณ์ พูลผล", "3640100249913", "female", "1972-11-09", "informal", "tpmap", "6401", "640104",
      bkk("09-08", "11:00"), {"self_employment_fund": IN_PROGRESS, "career_guidance": done("guidance_given", "09-10")}),
    p("s05", "อำนาจ บุญเรือง", "1640100329104", "male", "1990-08-21", "informal", "rehab_center", "6401", "640105",
      bkk("09-10", "13:20"), {"drug_prevention_outreach": SERVICE,
                              "job_registration": Plan(end="declined", reason_code="person_refused")}),
    p("s06", "ชูชาติ มั่นคง", "3640100408299", "male", "1979-02-11", "formal", "walk_in", "6401", "640101",
      bkk("09-14", "10:00"), {"wage_rights": done("resolved", "10-20", amount_recovered=12500),  # late outcome
                              "labour_complaint": done("complaint_filed", "09-16")}),
    # Taken in a minute after midnight Bangkok time on 1 September (still 31 August in UTC), name
    # misspelt; taken in again on 22 September with the name corrected: one row, the latest name.
    p("s07", "มาลัย จันหอม", "3640100487482", "female", "1968-12-01", "informal", "informal_labour_unit", "6401",
      "640102", bkk("09-01", "00:01"), {"skill_upgrade": OPEN}),
    p("s07b", "มาลัย จันทร์หอม", "3640100487482", "female", "1968-12-01", "informal", "informal_labour_unit", "6401",
      "640102", bkk("09-22", "09:00"), {"ss_article40_enrolment": done("enrolled_article40", "09-24")}),
    # Her only referral cancelled: no help, not on any form.
    p("s08", "เกษม รุ่งเรือง", "3640100566676", "male", "1983-05-05", "informal", "tpmap", "6401", "640103",
      bkk("09-15", "10:00"), {"job_placement": Plan(end="cancelled", reason="ผู้รับบริการย้ายไปอยู่ต่างจังหวัด")}),
    # Twenty minutes into 1 October Bangkok time (30 September in UTC): October's forms, not September's.
    p("s09", "วันเพ็ญ สุขใจ", "3640100645860", "female", "1961-03-03", "elderly", "walk_in", "6401", "640104",
      bkk("10-01", "00:20"), {"ss_savings_advice": OPEN}),
    # --- Sukhothai (64), org unit 6406 อ.ศรีสำโรง ---
    p("s10", "ประเสริฐ ทองคำ", "1640600725050", "male", "1995-07-07", "informal", "ci_center", "6406", "640601",
      bkk("09-04", "09:00"), {"drug_prevention_outreach": SERVICE}),  # a service at intake only
    p("s11", "สุภาพร เรืองศรี", "1640600804243", "female", "1992-10-10", "informal", "rehab_center", "6406", "640602",
      bkk("09-05", "10:30"), {"drug_prevention_outreach": SERVICE,
                              "skill_training": done("course_completed", "10-12", course="ช่างเสริมสวย"),  # late
                              "ss_article40_enrolment": OPEN}),
    p("s12", "ทองใบ ศรีวงศ์", "3640600883433", "female", "1955-01-20", "elderly", "tpmap", "6406", "640603",
      bkk("09-09", "13:00"), {"ss_article33_benefit_check": done("not_eligible", "09-18")}),
    p("s13", "สมหมาย ดีมาก", "3640600962627", "male", "1977-09-09", "disabled", "informal_labour_unit", "6406",
      "640604", bkk("09-11", "10:00"), {"job_registration": done("placed", "10-06", employer="บจก. สุโขทัยการเกษตร",
                                                                  position="พนักงานคัดแยก", monthly_wage=9800)}),
    # Employment transfers the need to skills (a skill test first); skills completes it.
    p("s14", "อรุณี แสงทอง", "3640601041819", "female", "1985-04-18", "informal", "walk_in", "6406", "640605",
      bkk("09-16", "11:00"), {"overseas_work": Plan(
          end="transferred", on=bkk("09-18", "10:00"), to_agency="skills",
          reason="ต้องผ่านการทดสอบมาตรฐานฝีมือก่อนไปทำงานต่างประเทศ",
          then=done("certified", "09-29", standard="ช่างเชื่อมไฟฟ้า ระดับ 1"))}),
    p("s15", "จำเนียร พรหมมา", "3640601121006", "female", "1970-06-06", "informal", "informal_labour_unit", "6406",
      "640601", bkk("09-17", "14:00"), {UNROUTABLE: None, "workplace_safety": Plan(end="unreachable")}),
    # Lives in อ.เมืองสุโขทัย, taken in by the ศรีสำโรง unit: on 6406's SP-12.
    p("s16", "สมพงษ์ วงศ์ใหญ่", "3640601200194", "male", "1976-02-29", "formal", "walk_in", "6406", "640105",
      bkk("09-21", "09:45"), {"ss_article39_enrolment": done("enrolled_article39", "09-23")}),
    p("s17", "ณรงค์ ชัยมงคล", "1640601279380", "male", "1988-12-12", "informal", "rehab_center", "6406", "640603",
      bkk("09-24", "10:00"), {"job_registration": ACCEPTED, "skill_training": IN_PROGRESS}),
    p("s18", "บัวผัน ใจงาม", "3640601358570", "female", "1957-08-08", "elderly", "tpmap", "6406", "640604",
      bkk("09-25", "13:30"), {"self_employment_fund": OPEN}),
    # --- Chachoengsao (24), org unit 2401 อ.เมืองฉะเชิงเทรา ---
    p("c19", "กาญจนา ศรีประเสริฐ", "3240101437768", "female", "1974-03-30", "informal", "informal_labour_unit",
      "2401", "240101", bkk("09-02", "09:00"), {"skill_training": done("enrolled", "09-15", course="การแปรรูปอาหาร"),
                                               "ss_article40_enrolment": done("enrolled_article40", "09-09")}),
    p("c20", "ไพโรจน์ เจริญผล", "3240101516951", "male", "1971-07-14", "formal", "walk_in", "2401", "240102",
      bkk("09-03", "10:00"), {"labour_complaint": done("complaint_filed", "09-10"),
                              "wage_rights": done("resolved", "10-14", amount_recovered=8400)}),  # late
    p("c21", "ละเอียด ทองประเสริฐ", "3240101596149", "female", "1959-05-25", "elderly", "tpmap", "2401", "240103",
      bkk("09-08", "14:00"), {"ss_savings_advice": ACCEPTED}),
    p("c22", "สุริยา แก้วกาญจนา", "1240101675336", "male", "1993-02-02", "informal", "ci_center", "2401", "240104",
      bkk("09-10", "09:15"), {"drug_prevention_outreach": SERVICE, "job_registration": done("registered", "09-12")}),
    p("c23", "พิมพ์ใจ บุญประเสริฐ", "1240101754520", "female", "1991-11-11", "informal", "rehab_center", "2401",
      "240105", bkk("09-12", "11:00"), {"skill_certification": done("certified", "10-03",
                                                                     standard="พนักงานนวดไทย ระดับ 1")}),  # late
    p("c24", "เสถียร มีทรัพย์", "3240101833710", "male", "1978-10-01", "disabled", "informal_labour_unit", "2401",
      "240101", bkk("09-18", "10:30"), {"job_placement": done("placed", "09-28", employer="หจก. แปดริ้วพัฒนา",
                                                              position="พนักงานบรรจุภัณฑ์", monthly_wage=10500)}),
    p("c25", "รัชนี พงษ์ไพร", "3240101912903", "female", "1981-04-04", "informal", "walk_in", "2401", "240102",
      bkk("09-22", "13:00"), {"job_fraud_report": Plan(end="cancelled", reason="ซ้ำกับเรื่องที่แจ้งทางสายด่วน 1506"),
                              "overseas_worker_rights": OPEN}),
    p("c26", "บุญส่ง นาคสวัสดิ์", "3240101992095", "male", "1956-09-19", "elderly", "tpmap", "2401", "240103",
      bkk("09-26", "10:00"), {"ss_article33_benefit_check": IN_PROGRESS}),
    p("c27", "ลำดวน พึ่งบุญ", "3240102071287", "female", "1973-01-01", "informal", "informal_labour_unit", "2401",
      "240104", bkk("09-29", "17:00"), {"skill_upgrade": OPEN}),
    # --- Chachoengsao (24), org unit 2402 อ.บางคล้า ---
    p("c28", "สายสุนีย์ คงมั่น", "3240202150472", "female", "1976-06-16", "informal", "informal_labour_unit", "2402",
      "240201", bkk("09-01", "09:00"), {"job_registration": done("registered", "09-02"),
                                        "skill_training": done("enrolled", "09-20", course="ช่างตัดเย็บเสื้อผ้า")}),
    p("c29", "อนุชา ปานทอง", "3240202229664", "male", "1982-08-08", "formal", "walk_in", "2402", "240204",
      bkk("09-04", "10:00"), {"workplace_safety": done("advice_given", "09-07")}),
    p("c30", "ทองมา สีดา", "3240202308858", "male", "1954-04-14", "elderly", "tpmap", "2402", "240208",
      bkk("09-07", "09:00"), {"ss_article40_enrolment": done("enrolled_article40", "10-01")}),  # late
    p("c31", "วรวุฒิ ศักดิ์ดี", "1240202388049", "male", "1994-03-03", "informal", "rehab_center", "2402", "240209",
      bkk("09-09", "14:00"), {"drug_prevention_outreach": SERVICE, "skill_training": ACCEPTED}),
    p("c32", "อัมพร ชื่นชม", "1240202467232", "female", "1989-07-27", "disabled", "ci_center", "2402", "240210",
      bkk("09-14", "10:00"), {"job_registration": Plan(end="unreachable"),
                              "ss_article40_enrolment": done("enrolled_article40", "09-19")}),
    p("c33", "สมบัติ ยอดเยี่ยม", "3240202546422", "male", "1980-12-25", "informal", "informal_labour_unit", "2402",
      "240201", bkk("09-17", "10:00"), {"career_guidance": done("guidance_given", "09-17")}),
    p("c34", "ปราณี ทรัพย์มาก", "3240202625616", "female", "1984-02-14", "informal", "walk_in", "2402", "240204",
      bkk("09-23", "11:00"), {"overseas_worker_rights": done("advice_given", "10-05")}),  # late
    # Her only need has no routing rule: no help, not on any form.
    p("c35", "เฉลิม บุญมา", "3240202704800", "male", "1969-10-10", "informal", "tpmap", "2402", "240208",
      bkk("09-25", "09:00"), {UNROUTABLE: None}),
    p("c36", "นิภา รักไทย", "3240202783998", "female", "1962-05-05", "elderly", "informal_labour_unit", "2402",
      "240209", bkk("09-28", "10:00"), {"ss_savings_advice": OPEN}),
)
# The informal-labour registry, in effect from 15 September: s03 is on it but was referred before
# (no tick); the others were referred after (✓ on). Everyone else referred after the 15th: ✓ off.
REGISTRY_EFFECTIVE = date(2026, 9, 15)
REGISTRY_SLUGS = ("s03", "s07", "s14", "s17", "c24", "c33", "c36")
REGISTRY_EXTRA_IDS = ("3640100000010", "3240200000015")  # listed, never helped


def intake_id(person: Person) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"intake/{person.slug}"))


def person_by_slug(slug: str) -> Person:
    return next(person for person in PEOPLE if person.slug == slug)


def registry_ids() -> list[str]:
    return [*(person_by_slug(slug).national_id for slug in REGISTRY_SLUGS), *REGISTRY_EXTRA_IDS]


def intake_event(person: Person, *, person_ref_key: str) -> IntakeSubmittedV2:
    body = {
        "source": {"program": person.program, "org_unit": person.org_unit, "reported_by": f"officer-{person.org_unit}"},
        "person": {"national_id": person.national_id, "full_name": person.name, "sex": person.sex,
                   "birth_date": person.born, "worker_type": person.worker,
                   "address": {"subdistrict_code": person.subdistrict}},
        "needs": [{"code": code} for code in person.needs],
        # Every intake consents: rehabilitation and CI centres may not refer without it (PDPA s.26).
        "consent": {"share_with_agencies": True, "recorded_at": person.at.isoformat()},
    }
    received = person.at.astimezone(ZoneInfo("UTC"))
    return build_intake_event(
        request=IntakeRequest.model_validate(body), intake_id=intake_id(person),
        event_id=ids.derived_event_id(source_id=intake_id(person), purpose="submitted"), received_at=received,
        person_key=person_key(ids.person_ref(national_id=person.national_id, key=person_ref_key)),
    )


def _moves(plan: Plan, *, assigned: ReferralAssignedV2) -> list[tuple[str, EventEnvelope]]:
    """The agency's moves of one referral, from version 2 (received) on; with a transfer, the
    continuation agency_adapters.workflow publishes (same need, assigned anew) and its moves."""
    out: list[tuple[str, EventEnvelope]] = []
    referral_id, agency, previous, moment = assigned.referral_id, assigned.agency, "assigned", assigned.occurred_at
    steps, transferred_to = STEP[plan.end], None
    for version, status in enumerate(steps, start=2):
        last = version == len(steps) + 1
        moment = plan.on if last and plan.on else moment + timedelta(minutes=2 if version == 2 else 60)
        if last and status == "transferred" and plan.to_agency:
            transferred_to = ids.transferred_referral_id(referral_id=referral_id, to_agency=plan.to_agency)
        move = Move(status=status, actor=f"officer-{agency}", outcome_code=plan.outcome if last else None,  # type: ignore[arg-type]
                    details=plan.details if last else {}, reason_code=plan.reason_code if last else None,
                    reason=plan.reason if last else None, to_agency=plan.to_agency if last else None)
        out.append(("updated", updated_event(
            referral_id=referral_id, intake_id=assigned.intake_id, agency=agency, status=status,  # type: ignore[arg-type]
            person_ref=assigned.person_ref, previous_status=previous, version=version, actor=move.actor,  # type: ignore[arg-type]
            occurred_at=moment, move=move, transferred_to=transferred_to, key=person_key(assigned.person_ref))))
        previous = status
    if transferred_to and plan.then is not None:
        continuation = assigned.model_copy(update={
            "event_id": ids.derived_event_id(source_id=transferred_to, purpose="assigned"), "occurred_at": moment,
            "producer": "agency-adapters", "referral_id": transferred_to, "agency": plan.to_agency,
            "catalog_version": "transfer", "routing_rule": f"transfer:{agency}->{plan.to_agency}",
            "transferred_from": referral_id})
        out += [("assigned", continuation), *_moves(plan.then, assigned=continuation)]
    return out


def scenario_events(*, person_ref_key: str) -> list[tuple[str, EventEnvelope]]:
    """(kind, event) in the order they happened; kind is intake, assigned, updated or unroutable."""
    catalog = default_catalog()
    timeline: list[tuple[datetime, str, EventEnvelope]] = []
    for person in PEOPLE:
        intake = intake_event(person, person_ref_key=person_ref_key)
        timeline.append((person.at, "intake", intake))
        for routed in route_intake(intake=intake, catalog=catalog, routed_at=person.at + timedelta(minutes=1)):
            if not isinstance(routed.event, ReferralAssignedV2):
                timeline.append((routed.event.occurred_at, "unroutable", routed.event))
                continue
            timeline.append((routed.event.occurred_at, "assigned", routed.event))
            plan = person.needs[routed.need_code]
            assert plan is not None, f"{person.slug}: {routed.need_code} was routed"
            for kind, event in _moves(plan, assigned=routed.event):
                timeline.append((event.occurred_at, kind, event))
    return [(kind, event) for _, kind, event in sorted(timeline, key=lambda t: t[0])]


def topic_of(kind: str, event: EventEnvelope, *, topics: Topics) -> tuple[str, bytes]:
    """The topic and record key the services publish the event with."""
    if kind == "intake":
        return topics.intake_submitted, event.intake_id.encode()  # type: ignore[attr-defined]
    key = event.referral_id.encode()  # type: ignore[attr-defined]
    if kind == "assigned":
        return topics.referral_assigned(event.agency), key  # type: ignore[attr-defined]
    return (topics.referral_updated if kind == "updated" else topics.referral_unroutable), key


def records_by_topic(*, topics: Topics, person_ref_key: str) -> dict[str, list[tuple[bytes, bytes]]]:
    """Every topic's records, the people's keys (person.keys) among them, as intake publishes them."""
    refs = sorted({ids.person_ref(national_id=person.national_id, key=person_ref_key) for person in PEOPLE})
    records: dict[str, list[tuple[bytes, bytes]]] = {
        topics.person_keys: [(ref.encode(), key_issued(ref).model_dump_json().encode()) for ref in refs]}
    for kind, event in scenario_events(person_ref_key=person_ref_key):
        topic, key = topic_of(kind, event, topics=topics)
        records.setdefault(topic, []).append((key, event.model_dump_json().encode()))
    return records


for _person in PEOPLE:  # a typo in the table fails at import, not as a puzzling form
    assert pin.is_valid(_person.national_id), _person.slug
