"""The monthly forms from the running stack: intakes go in over HTTP, the SP-12 and SNB-2 files
come out of reporting with the people, their 13-digit IDs, the help given and its outcome, and
the informal-labour registry tick as it stood when each person was referred. Every call carries
a real token from the project's Keycloak: Sukhothai's provincial office reads and closes
Sukhothai's forms, and is told Chachoengsao's do not exist although someone was helped there."""

import os
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from reporting.forms import read_csv_rows, read_xlsx_rows
from shared.topics import Topics
from tests.support.examples import contract_example, intake_for
from tests.support.identity import claims_of
from tests.support.infrastructure import REPO
from tests.support.kafka_io import json_of, read_topic
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e
BANGKOK = ZoneInfo("Asia/Bangkok")
OTHER_ID = "1640600012347"  # a second person in the same org unit; valid check digit
CHACHOENGSAO_ID = "1240100012341"  # someone taken in by org unit 2401; valid check digit


@pytest.fixture
def stack(start_service):
    # SP-12 due on the 1st: this month's form is already due, so the test can close it now; the
    # hourly scan keeps the background loop from closing it first.
    close_now = {"REPORTING_SP12_DUE_DAY": "1", "REPORTING_CLOSE_SCAN_SECONDS": "3600"}
    return {"reporting": start_service("reporting", close_now),
            **start_service.stack("agency-adapters", "routing", "intake")}


def download(reporting_url: str, form: str, fmt: str, *, auth: httpx.Auth, **params: str) -> bytes:
    answer = httpx.get(f"{reporting_url}/v1/reports/{form}", params={**params, "format": fmt}, auth=auth, timeout=30)
    assert answer.status_code == 200, answer.text
    assert "attachment" in answer.headers["content-disposition"]
    return answer.content


def id_in(row: list) -> str | None:
    return next((str(cell) for cell in row if cell and str(cell).isdigit() and len(str(cell)) == 13), None)


def import_registry(reporting_env: dict[str, str], tmp_path, *, national_ids: list[str], effective: str) -> None:
    sheet = tmp_path / "informal-labour.csv"
    sheet.write_text("national_id,household_id,province,district\n"
                     + "".join(f"{nid},HH{i},64,6406\n" for i, nid in enumerate(national_ids)), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "reporting.registries.cli", "import", "--kind", "informal_labour",
         "--effective-date", effective, str(sheet)],
        cwd=REPO, env={**os.environ, **reporting_env}, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def test_sp12_and_snb2_list_each_person_once_with_help_outcome_and_registry_tick(
    stack, tmp_path, kafka_env, identity
):
    intake, agency, reporting = stack["intake"], stack["agency-adapters"], stack["reporting"]
    office, clerk = identity.auth("province-64"), identity.auth("clerk-6406")
    first = contract_example()["person"]
    yesterday = (datetime.now(BANGKOK) - timedelta(days=1)).date().isoformat()
    import_registry(reporting.env, tmp_path, national_ids=[first["national_id"]], effective=yesterday)

    accepted = httpx.post(f"{intake.url}/v1/intakes", json=contract_example(), auth=clerk, timeout=10).json()
    other = intake_for(OTHER_ID, needs=["skill_training"])
    other["person"]["full_name"] = "มานี มีสุข"
    assert httpx.post(f"{intake.url}/v1/intakes", json=other, auth=clerk, timeout=10).status_code == 202
    # Someone helped in Chachoengsao this month too, taken in by its own clerk.
    chachoengsao = intake_for(CHACHOENGSAO_ID, needs=["job_registration"], subdistrict="240101")
    chachoengsao["source"]["org_unit"] = "2401"
    answer = httpx.post(f"{intake.url}/v1/intakes", json=chachoengsao, auth=identity.auth("clerk-2401"), timeout=10)
    assert answer.status_code == 202, answer.text
    month = datetime.now(BANGKOK).strftime("%Y-%m")
    eventually(lambda: httpx.get(f"{reporting.url}/v1/reports/monthly", params={"province": "64", "month": month},
                                 auth=office).json(),
               until=lambda r: r.get("total") == 5 and r["by_status"].get("received") == 5, timeout=60)

    job = next(r["referral_id"] for r in accepted["referrals"] if r["need_code"] == "job_registration")
    for body in ({"status": "accepted"}, {"status": "completed", "outcome_code": "registered"}):
        moved = httpx.post(f"{agency.url}/v1/referrals/{job}/status", json=body,
                           auth=identity.auth("officer-employment-64"), timeout=10)
        assert moved.status_code == 200, moved.text

    def sp12() -> list[list[str]]:
        return read_csv_rows(download(reporting.url, "sp12", "csv", auth=office, org_unit="6406", month=month))

    rows = eventually(sp12, until=lambda rows: "(ผล:" in str(rows), timeout=30)
    assert any("จำนวน 2 คน" in cell for row in rows[:6] for cell in row), rows[:6]
    people = {id_in(row): row for row in rows if id_in(row)}
    assert set(people) == {first["national_id"], OTHER_ID}
    assert people[first["national_id"]][1] == first["full_name"]
    assert people[OTHER_ID][1] == "มานี มีสุข"
    mine = people[first["national_id"]][3]
    assert mine.count(",") >= 3, "all four helps of the person in one row"
    assert "ผล:" in mine and "แรงงานนอกระบบ" in people[first["national_id"]][4]

    cells = read_xlsx_rows(download(reporting.url, "snb2", "xlsx", auth=office, province="64", month=month))
    listed = {id_in(row): row for row in cells if id_in(row)}
    assert set(listed) == {first["national_id"], OTHER_ID}
    on, off = listed[first["national_id"]][-2:], listed[OTHER_ID][-2:]
    assert on[0] and not on[1], "on the informal-labour registry when referred"
    assert off[1] and not off[0], "not on the registry"

    # Other months and org units have nothing; a Buddhist-Era month is refused with its reason.
    empty = read_csv_rows(download(reporting.url, "sp12", "csv", auth=office, org_unit="6401", month=month))
    assert any("จำนวน 0 คน" in cell for row in empty for cell in row)
    refused = httpx.get(f"{reporting.url}/v1/reports/sp12", params={"org_unit": "6406", "month": "2569-11"},
                        auth=office)
    assert refused.status_code == 422 and "month" in refused.json()["detail"]

    # Chachoengsao's forms exist (its own office and national read its person); Sukhothai's
    # office gets the answer of a province with nothing; ops and the clerk get no forms at all.
    theirs = identity.auth(identity.ensure_user("province-24", roles=["provincial_office"], provinces=["24"]))
    listed = eventually(lambda: read_csv_rows(download(reporting.url, "sp12", "csv", auth=theirs, org_unit="2401",
                                                       month=month)),
                        until=lambda rows: any(id_in(row) == CHACHOENGSAO_ID for row in rows), timeout=30)
    assert {id_in(row) for row in listed if id_in(row)} == {CHACHOENGSAO_ID}
    national = read_xlsx_rows(download(reporting.url, "snb2", "xlsx", auth=identity.auth("national"), province="24",
                                       month=month))
    assert CHACHOENGSAO_ID in {id_in(row) for row in national}
    for form, params, missing in (("sp12", {"org_unit": "2401"}, "org unit 2401"),
                                  ("snb2", {"province": "24"}, "province 24"),
                                  ("summary", {"province": "24", "people": "10"}, "province 24"),
                                  ("sp12", {"org_unit": "2501"}, "org unit 2501"),
                                  ("snb2", {"province": "25"}, "province 25")):
        hidden = httpx.get(f"{reporting.url}/v1/reports/{form}", params={**params, "month": month}, auth=office,
                           timeout=30)
        assert (hidden.status_code, hidden.json()) == (404, {"detail": f"No report for {missing}"}), form
    for refused_to in ("ops", "clerk-6406"):
        answer = httpx.get(f"{reporting.url}/v1/reports/sp12", params={"org_unit": "6406", "month": month},
                           auth=identity.auth(refused_to), timeout=30)
        assert answer.status_code == 403, (refused_to, answer.text)
    assert httpx.get(f"{reporting.url}/v1/reports/sp12", params={"org_unit": "6406", "month": month},
                     timeout=30).status_code == 401

    # Month close by Sukhothai's office: its due SP-12 is frozen as version 1 under its name and
    # announced on report.published; Chachoengsao's, due too, is left to its office or the loop.
    closed = httpx.post(f"{reporting.url}/v1/reports/close-due", auth=office, timeout=60).json()["published"]
    assert [(v["form"], v["scope"], v["month"], v["version"]) for v in closed] == [("sp12", "6406", month, 1)]
    assert closed[0]["closed_by"] == claims_of(identity.token("province-64"))["sub"]
    assert httpx.post(f"{reporting.url}/v1/reports/close-due", auth=office, timeout=60).json()["published"] == []
    filed = httpx.get(f"{reporting.url}{closed[0]['files']['xlsx']}", auth=office)
    assert filed.status_code == 200 and read_xlsx_rows(filed.content)[4:] == read_xlsx_rows(
        download(reporting.url, "sp12", "xlsx", auth=office, org_unit="6406", month=month))[4:]
    assert httpx.get(f"{reporting.url}{closed[0]['files']['xlsx']}", auth=theirs).status_code == 404
    topic = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"]).report_published
    [event] = await read_topic(kafka_env["KAFKA_BOOTSTRAP_SERVERS"], topic, expect=1, timeout=30)
    assert json_of(event)["report_key"] == f"sp12/6406/{month}" and json_of(event)["people"] == 2
    completeness = httpx.get(f"{reporting.url}/v1/reports/completeness", params={"month": month},
                             auth=office).json()["scopes"]
    assert {(s["form"], s["scope"], s["closed"]) for s in completeness} == {("sp12", "6406", True), ("snb2", "64", False)}
    everywhere = httpx.get(f"{reporting.url}/v1/reports/completeness", params={"month": month},
                           auth=identity.auth("ops")).json()["scopes"]
    assert {(s["form"], s["scope"], s["closed"]) for s in everywhere} == {
        ("sp12", "6406", True), ("snb2", "64", False), ("sp12", "2401", False), ("snb2", "24", False)}
