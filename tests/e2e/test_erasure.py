"""Erasure, end to end (issue 14): two people in the same month, one erased while the agency
adapters are stopped. The erasure completes when they return; afterwards no topic (dead letters and
person.keys included) and no table of any service holds the erased person's ID, name, phone, birth
date or notes in clear, no key that opens their ciphertexts is left anywhere, the other person is
intact, the counts and the forms' lines are unchanged with the erased line marked, and a rebuild
from the log brings no identity back."""

import asyncio
import json
import random
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from reporting.forms import read_csv_rows
from reporting.forms.table import ERASED_PERSON_TH
from reporting.models import ReportPerson
from shared import ids
from shared.contracts import Sealed
from shared.db import make_engine, session_factory
from shared.privacy import identities_of
from shared.settings import PrivacySettings
from shared.topics import Topics
from tests.e2e.test_personal_data_at_rest import people, secrets_of
from tests.support.personal_data import clear_in, database_of, records_of, tables_holding, topics_holding
from tests.support.polling import eventually
from tests.support.processes import kafka_login, run_module
from tests.support.report_reading import facts
from tests.support.sealing import MASTER_KEYS

pytestmark = pytest.mark.e2e
CLERK, PROVINCE = "clerk-6406", "province-64"


def monthly(reporting, identity) -> dict:  # noqa: ANN001
    month = datetime.now(ZoneInfo("Asia/Bangkok")).strftime("%Y-%m")
    return httpx.get(f"{reporting.url}/v1/reports/monthly", params={"province": "64", "month": month},
                     auth=identity.auth(PROVINCE), timeout=10).json()


def counts(summary: dict) -> dict:
    return {key: value for key, value in summary.items() if key != "generated_at"}


def form_rows(reporting, identity, form: str) -> list[list[str]]:  # noqa: ANN001
    """The people's lines of this month's SP-12 of org unit 6406 or SNB-2 of province 64."""
    month = datetime.now(ZoneInfo("Asia/Bangkok")).strftime("%Y-%m")
    scope = {"org_unit": "6406"} if form == "sp12" else {"province": "64"}
    answer = httpx.get(f"{reporting.url}/v1/reports/{form}", params={**scope, "month": month, "format": "csv"},
                       auth=identity.auth(PROVINCE), timeout=30)
    assert answer.status_code == 200, answer.text
    return [row for row in read_csv_rows(answer.content) if row and row[0].isdigit()]


def files_holding(paths: list[Path], secrets: set[str]) -> list[str]:
    """The files (service logs, SQLite files with their WAL) that hold a secret in clear."""
    return [str(path) for path in paths if path.is_file() and clear_in(path.read_bytes(), secrets)]


def sqlite_files(url: str) -> list[Path]:
    if not url.startswith("sqlite"):
        return []
    database = Path(url.split(":///", 1)[1])
    return [database, database.with_name(database.name + "-wal")]


def keys_left(kafka_env: dict[str, str], person_ref: str) -> int:
    """Valued records of the person on person.keys (a tombstone is not one)."""
    topic = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"]).person_keys
    return sum(1 for r in records_of(kafka_env, topic) if r.key == person_ref.encode() and r.value is not None)


async def opens_in(url: str, person_ref: str, sealed: Sealed) -> bool:
    engine = make_engine(url)
    try:
        async with session_factory(engine)() as session:
            found = await identities_of(session, wrapper=MASTER_KEYS, person_refs=[person_ref])
        return found.identity(sealed, person_ref=person_ref) is not None
    finally:
        await engine.dispose()


def test_an_erased_person_is_gone_everywhere_and_the_counts_stay(start_service, kafka_env, identity, database_url):
    stack = start_service.stack("reporting", "agency-adapters", "routing", "intake")
    intake, agency, reporting = stack["intake"], stack["agency-adapters"], stack["reporting"]
    erased, kept, later = people(random.Random(7070))
    taken = []
    for body in (erased, kept):
        answer = httpx.post(f"{intake.url}/v1/intakes", json=body, timeout=10, auth=identity.auth(CLERK))
        assert answer.status_code == 202, answer.text
        taken.append(answer.json())
    # Every referral received and its assignment counted (reporting reads the two on their own groups).
    counted = eventually(lambda: monthly(reporting, identity), timeout=60,
                         until=lambda r: r.get("total") == 6 and r["by_status"].get("received") == 6
                         and not r["by_category"].get("unassigned"))
    lines = {form: form_rows(reporting, identity, form) for form in ("sp12", "snb2")}
    assert len(lines["sp12"]) == len(lines["snb2"]) == 2
    assert erased["person"]["national_id"] in {row[2] for row in lines["sp12"]}

    # An officer's note on the erased person's referral that names them: sealed on referral.updated
    # and in the adapters with the person's key, and deleted there by the erasure all the same.
    skills_referral = next(r["referral_id"] for r in taken[0]["referrals"] if r["need_code"] == "skill_training")
    note = f"นัดพบคุณ{erased['person']['full_name']} ({erased['person']['phone']}) วันจันทร์ที่สำนักงาน"
    noted = httpx.post(f"{agency.url}/v1/referrals/{skills_referral}/status", timeout=10,
                       json={"status": "accepted", "note": note}, auth=identity.auth("officer-skills-64"))
    assert noted.status_code == 200, noted.text
    counted = eventually(lambda: monthly(reporting, identity), timeout=60,
                         until=lambda r: r["by_status"].get("accepted") == 1)

    # The agency adapters are down when the office asks: the others erase and confirm at once.
    agency_db = database_of(agency)
    agency.ask_to_stop()
    agency.wait_stopped()
    asked = httpx.post(f"{intake.url}/v1/erasures", timeout=10, auth=identity.auth(PROVINCE),
                       json={"national_id": erased["person"]["national_id"], "reason": "PDPA s.33 request 2026/117"})
    assert asked.status_code == 202, asked.text
    status_url = f"{intake.url}{asked.json()['status_url']}"
    waiting = eventually(lambda: httpx.get(status_url, auth=identity.auth(PROVINCE)).json(),
                         until=lambda s: all(s["services"][n] for n in ("intake", "routing", "reporting")), timeout=60)
    assert waiting["services"]["agency-adapters"] is None and not waiting["complete"]
    assert waiting["services"]["reporting"]["removed"]["person_keys"] == 1
    assert waiting["services"]["routing"]["removed"]["triage_reasons"] == 0
    agency = start_service("agency-adapters", database=agency_db)
    done = eventually(lambda: httpx.get(status_url, auth=identity.auth(PROVINCE)).json(),
                      until=lambda s: s["complete"], timeout=60)
    assert done["services"]["agency-adapters"]["removed"] == {"person_keys": 1, "agency_referral_moves": 1,
                                                              "agency_referrals": 1}
    assert httpx.get(status_url, auth=identity.auth("province-24")).status_code == 404
    assert httpx.get(status_url, auth=identity.auth("auditor")).json()["complete"], "the auditor checks it was done"

    # The counts and the form's lines stay, the erased line marked; the other person is intact.
    assert counts(monthly(reporting, identity)) == counts(counted)
    for form, name_at in (("sp12", 1), ("snb2", 2)):
        after = form_rows(reporting, identity, form)
        assert len(after) == len(lines[form]), form
        assert [row[name_at:name_at + 2] for row in after if row[name_at] == ERASED_PERSON_TH] == [
            [ERASED_PERSON_TH, ""]], form
        assert kept["person"]["national_id"] in {row[name_at + 1] for row in after}, form
    queue = httpx.get(f"{agency.url}/v1/agencies/skills/referrals", auth=identity.auth("officer-skills-64"),
                      timeout=10).json()["referrals"]
    people_shown = {(r["person"]["national_id"], r["person"]["erased"]) for r in queue}
    assert people_shown == {(None, True), (kept["person"]["national_id"], False)}
    moves = httpx.get(f"{agency.url}/v1/referrals/{skills_referral}/history", timeout=10,
                      auth=identity.auth("officer-skills-64")).json()["moves"]
    assert (moves[-1]["status"], moves[-1]["note"]) == ("accepted", None), "the move stays, its words do not"

    # A write to person.keys after its segment time rolls the segment, so the cleaner can drop the
    # erased person's key under its tombstone (KAFKA_PERSON_KEYS_COMPACTION_SECONDS in the tests).
    time.sleep(5)
    assert httpx.post(f"{intake.url}/v1/intakes", json=later, timeout=10, auth=identity.auth(CLERK)).status_code == 202
    erased_ref = ids.person_ref(national_id=erased["person"]["national_id"], key=PrivacySettings().person_ref_key)
    eventually(lambda: keys_left(kafka_env, erased_ref), until=lambda n: n == 0, timeout=90, interval=2)
    eventually(lambda: monthly(reporting, identity), until=lambda r: r.get("total") == 9, timeout=60)

    # Nothing of the erased person in clear on any topic or in any table of any service.
    secrets = secrets_of([erased])
    found = topics_holding(kafka_env, secrets)
    found.pop("(records read)")
    assert found == {}, "clear personal data of the erased person on these topics"
    for service in (intake, stack["routing"], reporting, agency):
        assert tables_holding(database_of(service), secrets) == [], service.name
    # Nor in any file the services wrote: their logs, and the SQLite files themselves (free pages, WAL).
    written = [s.log_path for s in (intake, stack["routing"], reporting, agency, stack["agency-adapters"])]
    written += [f for s in (intake, stack["routing"], reporting, agency) for f in sqlite_files(database_of(s))]
    assert files_holding(written, secrets) == []
    # And no key left anywhere opens what was sealed for them: not in a service, not on the log.
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    intakes = [json.loads(r.value) for r in records_of(kafka_env, topics.intake_submitted)]
    sealed = Sealed.model_validate(next(i["person"]["identity"] for i in intakes if i["person_ref"] == erased_ref))
    for service in (intake, agency, reporting):
        assert not asyncio.run(opens_in(database_of(service), erased_ref, sealed)), service.name

    # A rebuild from the log: the same facts, and no identity for the erased person.
    rebuilt = database_url("reporting-rebuilt")
    run_module("reporting.rebuild", "--database-url", rebuilt, "--from-database-url", database_of(reporting),
               env={**kafka_env, **kafka_login("reporting"), "SONGTOR_ENVIRONMENT": "test"})
    assert asyncio.run(fact_rows(rebuilt)) == asyncio.run(fact_rows(database_of(reporting)))
    row = asyncio.run(person_row(rebuilt, erased_ref))
    assert row is not None and not asyncio.run(opens_in(rebuilt, erased_ref, Sealed.model_validate_json(row)))
    assert tables_holding(rebuilt, secrets) == []


async def fact_rows(url: str) -> dict:
    engine = make_engine(url)
    try:
        return await facts(session_factory(engine))
    finally:
        await engine.dispose()


async def person_row(url: str, person_ref: str) -> str | None:
    engine = make_engine(url)
    try:
        async with session_factory(engine)() as session:
            found = await session.get(ReportPerson, person_ref)
        return found.identity_json if found else None
    finally:
        await engine.dispose()
