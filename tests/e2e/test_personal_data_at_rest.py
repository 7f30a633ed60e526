"""Crypto-shredding, end to end: after intakes, routing, an agency's moves and a transfer, no
national ID, name, phone, birth date or need note is in clear on any Kafka topic (dead letters
and person.keys included) nor in any table of any service, while the people still open for those
allowed to read them."""

import random
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.examples import intake_for, thai_national_id
from tests.support.personal_data import database_of, tables_holding, topics_holding
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

CLERK, PROVINCE = "clerk-6406", "province-64"
NEEDS = ["job_registration", "skill_training", "ss_article40_enrolment"]


def people(rng: random.Random) -> list[dict]:
    bodies = []
    for number, program in enumerate(("rehab_center", "tpmap", "walk_in")):
        body = intake_for(thai_national_id(rng), needs=NEEDS)
        body["source"]["program"] = program
        body["person"].update(full_name=f"ทดสอบลับ{number}{rng.randrange(10**6):06d} นามสกุลลับ",
                              phone=f"08{rng.randrange(10**8):08d}", birth_date=f"19{50 + number}-0{number + 2}-1{number}")
        body["needs"] = [{"code": code, "note": f"บันทึกส่วนตัว-{number}-{code}-{rng.randrange(10**6)}"} for code in NEEDS]
        bodies.append(body)
    return bodies


def secrets_of(bodies: list[dict]) -> set[str]:
    found = set()
    for body in bodies:
        person = body["person"]
        found |= {person["national_id"], person["full_name"], person["phone"], person["birth_date"]}
        found |= {need["note"] for need in body["needs"]}
    return found


def test_no_personal_field_is_in_clear_on_any_topic_or_in_any_table(start_service, kafka_env, identity):
    stack = start_service.stack("reporting", "agency-adapters", "routing", "intake")
    intake, agency, reporting = stack["intake"], stack["agency-adapters"], stack["reporting"]
    bodies = people(random.Random(1414))
    accepted = []
    for body in bodies:
        answer = httpx.post(f"{intake.url}/v1/intakes", json=body, timeout=10, auth=identity.auth(CLERK))
        assert answer.status_code == 202, answer.text
        accepted.append(answer.json())

    month = datetime.now(ZoneInfo("Asia/Bangkok")).strftime("%Y-%m")
    eventually(lambda: httpx.get(f"{reporting.url}/v1/reports/monthly", params={"province": "64", "month": month},
                                 auth=identity.auth(PROVINCE)).json(),
               until=lambda r: r.get("total") == 9 and r["by_status"].get("received") == 9, timeout=60)
    # An agency's move and a transfer: the continuation is a second assignment, sent by the adapters.
    skills = identity.auth("officer-skills-64")
    queue = httpx.get(f"{agency.url}/v1/agencies/skills/referrals", auth=skills).json()["referrals"]
    assert len(queue) == 3
    assert {r["person"]["national_id"] for r in queue} == {b["person"]["national_id"] for b in bodies}
    assert {r["need_note"] for r in queue} == {n["note"] for b in bodies for n in b["needs"] if n["code"] == "skill_training"}
    # Staff's words name the person: they travel and are kept sealed, and open for staff only.
    first, second = queue[0]["person"], queue[1]["person"]
    note = f"นัดคุณ{first['full_name']} โทร {first['phone']} วันจันทร์"
    moved = httpx.post(f"{agency.url}/v1/referrals/{queue[0]['referral_id']}/status", timeout=10,
                       json={"status": "accepted", "note": note}, auth=skills)
    assert moved.status_code == 200, moved.text
    reason = f"{second['full_name']} would rather have a job first"
    transferred = httpx.post(f"{agency.url}/v1/referrals/{queue[1]['referral_id']}/status", timeout=10,
                             json={"status": "transferred", "to_agency": "employment", "reason": reason},
                             auth=identity.auth(PROVINCE))
    assert transferred.status_code == 200, transferred.text
    history = httpx.get(f"{agency.url}/v1/referrals/{queue[0]['referral_id']}/history", auth=skills).json()["moves"]
    assert history[-1]["note"] == note
    continuation = transferred.json()["transferred_to"]
    employment = eventually(
        lambda: httpx.get(f"{agency.url}/v1/agencies/employment/referrals", auth=identity.auth("officer-employment-64")).json(),
        until=lambda q: continuation in {r["referral_id"] for r in q["referrals"]}, timeout=30)
    moved_person = next(r for r in employment["referrals"] if r["referral_id"] == continuation)["person"]
    assert moved_person["national_id"] == queue[1]["person"]["national_id"] and not moved_person["erased"]
    shown = httpx.get(f"{intake.url}/v1/intakes/{accepted[0]['intake_id']}", auth=identity.auth(CLERK)).json()
    assert shown["person"]["full_name"] == bodies[0]["person"]["full_name"]
    assert shown["person"]["birth_date"] == bodies[0]["person"]["birth_date"]

    secrets = secrets_of(bodies)
    found = topics_holding(kafka_env, secrets)
    assert found.pop("(records read)") >= 3 + 3 + 9 + 9 + 1 + 1, "the keys, intakes, assignments, twins, transfer"
    assert found == {}, "clear personal data on these topics"
    for name, service in stack.items():
        assert tables_holding(database_of(service), secrets) == [], f"clear personal data in {name}'s tables"
