"""Bulk intake end to end: a 10,000-row sheet through the CLI, every service as its own process,
uploaded by the demo clerk of org unit 6406 with tokens from the test Keycloak.

9,700 good rows must become intakes and their referrals must reach the monthly report; 300 bad
rows of mixed kinds (rows of another org unit among them) must each give exactly one line in
the error report, naming the sheet's row and column. The timing of the job is written to
test-artifacts/<test>/bulk-timing.json.
"""

import csv
import io
import json
import os
import random
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.examples import thai_national_id
from tests.support.identity import claims_of
from tests.support.infrastructure import REPO
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

ROWS, BAD_ROWS = 10_000, 300
HEADERS = ["Program", "org_unit", "reported by", "National ID", "full_name", "sex", "birth_date", "phone",
           "worker_type", "subdistrict_code", "needs", "need_note", "consent_to_share"]
# One need set per row by its position; the agencies they go to give the expected report.
NEED_SETS = [["job_registration"], ["skill_training", "wage_rights"], ["ss_article40_enrolment", "drug_prevention_outreach"]]
AGENCY = {"job_registration": "employment", "skill_training": "skills", "wage_rights": "welfare",
          "ss_article40_enrolment": "social_security"}
PROGRAMS = ["rehab_center", "tpmap", "walk_in", "informal_labour_unit", "ci_center"]
SUBDISTRICTS = ["640601", "640602", "640603", "640101", "640201"]
FIRST = ["สมชาย", "สมหญิง", "ประเสริฐ", "มาลี", "บุญมี", "สุดา", "วิชัย", "อำไพ"]
LAST = ["ใจดี", "รักไทย", "ศรีสุข", "มั่นคง", "ทองดี", "แก้วมณี"]
THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")


def _wrong_check_digit(row: dict) -> None:
    nid = row["National ID"]
    row["National ID"] = nid[:12] + str((int(nid[12]) + 1) % 10)


# Each kind of mistake: how it spoils a good row, and the column the report must name.
MISTAKES = [
    (_wrong_check_digit, "National ID"),
    (lambda r: r.update({"National ID": r["National ID"].translate(THAI_DIGITS)}), "National ID"),
    (lambda r: r.update({"National ID": r["National ID"][:12]}), "National ID"),
    (lambda r: r.update({"needs": r["needs"] + ";flying_lessons"}), "needs"),
    (lambda r: r.update({"needs": "job_registration, job_registration"}), "needs"),
    (lambda r: r.update({"subdistrict_code": "649999"}), "subdistrict_code"),
    (lambda r: r.update({"Program": "rehab_center", "consent_to_share": "ไม่ใช่"}), "consent_to_share"),
    (lambda r: r.update({"consent_to_share": ""}), "consent_to_share"),
    (lambda r: r.update({"birth_date": (date.today() + timedelta(days=40)).isoformat()}), "birth_date"),
    (lambda r: r.update({"birth_date": "14/03/2512"}), "birth_date"),
    (lambda r: r.update({"phone": "12345"}), "phone"),
    (lambda r: r.update({"full_name": ""}), "full_name"),
    (lambda r: r.update({"worker_type": "astronaut"}), "worker_type"),
    (lambda r: r.update({"org_unit": "2401"}), "org_unit"),  # not the clerk's unit
    (lambda r: r.update({"consent_to_share": "no"}), "consent_to_share"),  # whatever the programme
]


def build_sheet(path: Path, *, rows: int, bad: int, seed: int = 64) -> dict:
    """Write the sheet; return what must come of it."""
    rng = random.Random(seed)
    national_ids: set[str] = set()
    bad_rows = set(rng.sample(range(2, rows + 2), bad))
    expected_errors: dict[int, str] = {}
    by_agency: Counter[str] = Counter()
    delivered = 0
    with path.open("w", encoding="utf-8-sig", newline="") as file:  # with BOM, as Excel writes it
        writer = csv.DictWriter(file, fieldnames=HEADERS)
        writer.writeheader()
        for number in range(2, rows + 2):
            while (nid := thai_national_id(rng)) in national_ids:
                pass
            national_ids.add(nid)  # one person per row: nothing joins another row's referral
            born = date(rng.randint(1970, 2000), rng.randint(1, 12), rng.randint(1, 28))
            needs = NEED_SETS[number % 3]
            row = {
                "Program": PROGRAMS[number % 5], "org_unit": "6406", "reported by": f"officer-{number % 40:04d}",
                "National ID": nid, "full_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                "sex": rng.choice(["ชาย", "หญิง", "male", "female", ""]),
                "birth_date": born.isoformat() if number % 2 else born.strftime("%d/%m/%Y"),
                "phone": f"08{rng.randint(0, 99_999_999):08d}" if number % 4 else "",
                "worker_type": rng.choice(["informal", "แรงงานนอกระบบ", "disabled"]),
                "subdistrict_code": SUBDISTRICTS[number % len(SUBDISTRICTS)],
                "needs": ";".join(needs), "need_note": "ช่างเชื่อม" if number % 7 == 0 else "",
                "consent_to_share": rng.choice(["ใช่", "yes", "TRUE", "✓", "1"]),
            }
            if number in bad_rows:
                spoil, column = MISTAKES[len(expected_errors) % len(MISTAKES)]
                spoil(row)
                expected_errors[number] = column
            else:
                by_agency.update(AGENCY[code] for code in needs if code in AGENCY)
                delivered += "drug_prevention_outreach" in needs
            writer.writerow(row)
    return {"errors": expected_errors, "by_agency": dict(by_agency), "delivered": delivered,
            "sample_ids": sorted(national_ids)[:50]}


def token_command(identity, user: str, folder: Path) -> str:  # noqa: ANN001
    """A command printing a fresh access token of `user`, for the CLI to run when one expires."""
    script = folder / f"token-{user}.py"
    script.write_text(
        "import httpx\n"
        f"answer = httpx.post({identity.issuer + '/protocol/openid-connect/token'!r}, timeout=30, data={{\n"
        f"    'grant_type': 'password', 'client_id': 'songtor-cli', 'username': {user!r}, 'password': {user!r}}})\n"
        "answer.raise_for_status()\n"
        "print(answer.json()['access_token'])\n"
    )
    return f"{sys.executable} {script}"


def read_error_report(data: bytes) -> list[dict]:
    assert data.startswith("\ufeff".encode()), "the report starts with a BOM so Excel reads Thai"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.fixture
def stack(start_service, tmp_path):
    services = start_service.stack("reporting", "agency-adapters", "routing")
    services["intake"] = start_service("intake", {"INTAKE_BULK_UPLOAD_DIR": str(tmp_path / "uploads")})
    return services


def test_a_ten_thousand_row_sheet_through_the_cli_reaches_the_monthly_report(
    stack, tmp_path, artifacts_dir, db_backend, identity
):
    intake, reporting = stack["intake"], stack["reporting"]
    clerk = identity.auth("clerk-6406")
    sheet = tmp_path / "sukhothai-intakes.csv"
    expected = build_sheet(sheet, rows=ROWS, bad=BAD_ROWS)
    month = datetime.now(ZoneInfo("Asia/Bangkok")).strftime("%Y-%m")

    # Tokens live five minutes; the job may take longer, so the CLI is given a command to renew it.
    cli = subprocess.run(
        [sys.executable, "-m", "intake.bulk.cli", str(sheet), "--url", intake.url, "--poll", "0.5"],
        cwd=REPO, capture_output=True, text=True, timeout=1200, check=False,
        env={**os.environ, "SONGTOR_TOKEN_COMMAND": token_command(identity, "clerk-6406", tmp_path)},
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "eyJ" not in cli.stdout + cli.stderr, "the CLI printed a token"
    assert f"accepted: {ROWS - BAD_ROWS}" in cli.stdout and f"refused: {BAD_ROWS}" in cli.stdout, cli.stdout
    assert "row 10,001/10,001" in cli.stderr, "the progress bar reached the last row"
    assert list((tmp_path / "uploads").iterdir()) == [], "the uploaded sheet is deleted when its job ends"

    job_id = cli.stderr.split("job ", 1)[1].split()[0]
    status = httpx.get(f"{intake.url}/v1/intake-jobs/{job_id}", auth=clerk).json()
    assert (status["state"], status["rows_read"], status["accepted"], status["refused"], status["error_lines"]) == (
        "done", ROWS, ROWS - BAD_ROWS, BAD_ROWS, BAD_ROWS)
    timing = {"database": db_backend, "rows": ROWS, "job_seconds": status["duration_seconds"],
              "rows_per_second": round(ROWS / status["duration_seconds"], 1)}

    report = read_error_report(Path(f"{sheet}.errors.csv").read_bytes())
    assert len(report) == BAD_ROWS
    assert {int(line["row"]): line["column"] for line in report} == expected["errors"]
    assert all(line["reason"] and line["reason_th"] for line in report)
    first_check_digit = next(line for line in report if "check" in line["reason"])
    assert first_check_digit["value"].isdigit() and len(first_check_digit["value"]) == 13
    other_unit = [line for line in report if line["column"] == "org_unit"]
    assert other_unit and all(line["value"] == "2401" and "a clerk of 2401" in line["reason"] for line in other_unit)

    begun = datetime.now()
    expected_by_agency = {agency: expected["by_agency"].get(agency, 0)
                          for agency in ("employment", "skills", "welfare", "social_security")}
    # Reporting counts a referral when the intake arrives and learns its agency from routing:
    # done when every referral is counted under the agency it was assigned to.
    monthly = eventually(
        lambda: httpx.get(f"{reporting.url}/v1/reports/monthly", params={"province": "64", "month": month},
                          timeout=30, auth=identity.auth("province-64")).json(),
        until=lambda r: r.get("by_agency") == expected_by_agency,
        timeout=1500, interval=2,  # generous: on 2 shared cores the other services need minutes
    )
    timing["report_caught_up_seconds_after_job"] = round((datetime.now() - begun).total_seconds(), 1)
    (artifacts_dir / "bulk-timing.json").write_text(json.dumps(timing, indent=2))
    print(f"\nbulk intake timing: {timing}")
    assert monthly["total"] == sum(expected_by_agency.values())
    assert monthly["services_delivered_at_intake"]["total"] == expected["delivered"]

    logs = intake.log_path.read_text(errors="replace")
    assert not any(nid in logs for nid in expected["sample_ids"]), "a national ID reached the intake log"


def test_an_xlsx_with_thai_headers_and_a_title_row_goes_through(start_service, tmp_path, identity):
    intake = start_service("intake", {"INTAKE_BULK_UPLOAD_DIR": str(tmp_path / "uploads")})
    clerk = identity.auth("clerk-6406")
    sheet, expected_errors = tmp_path / "แบบส่งต่อ.xlsx", _thai_workbook(tmp_path / "แบบส่งต่อ.xlsx")

    headers = {"Idempotency-Key": "office-6406-2026-11-sheet-1"}
    with sheet.open("rb") as file:
        answer = httpx.post(f"{intake.url}/v1/intakes/bulk", files={"file": (sheet.name, file)}, headers=headers,
                            auth=clerk)
    assert answer.status_code == 202, answer.text
    with sheet.open("rb") as file:
        again = httpx.post(f"{intake.url}/v1/intakes/bulk", files={"file": (sheet.name, file)}, headers=headers,
                           auth=clerk)
    assert again.json()["job_id"] == answer.json()["job_id"], "a retried upload returns the same job"

    status_url = f"{intake.url}{answer.json()['status_url']}"
    status = eventually(
        lambda: httpx.get(status_url, auth=clerk).json(),
        until=lambda s: s["state"] in ("done", "failed"), timeout=60,
    )
    assert status["state"] == "done", status
    assert (status["accepted"], status["refused"]) == (16, 4)
    assert status["filename"] == "แบบส่งต่อ.xlsx"
    assert status["submitted_by"] == claims_of(identity.token("clerk-6406"))["sub"]
    assert any("header is row 2" in warning for warning in status["warnings"])
    assert any("หมายเหตุเจ้าหน้าที่" in warning for warning in status["warnings"])

    report = read_error_report(httpx.get(f"{intake.url}{status['errors_url']}", auth=clerk).content)
    assert {int(line["row"]): line["column"] for line in report} == expected_errors
    [other_unit] = [line for line in report if line["column"] == "หน่วยงาน"]
    assert other_unit["value"] == "2401" and "only for org unit 6406" in other_unit["reason"]

    # The job and its report: the uploader, the provincial office of 64 and national; no one else.
    for user in ("province-64", "national"):
        assert httpx.get(status_url, auth=identity.auth(user)).status_code == 200, user
        assert httpx.get(f"{intake.url}{status['errors_url']}", auth=identity.auth(user)).status_code == 200, user
    strangers = [identity.ensure_user("clerk-2401", roles=["intake_clerk"], org_units=["2401"]),
                 identity.ensure_user("province-24", roles=["provincial_office"], provinces=["24"])]
    for user in strangers:
        for url in (status_url, f"{intake.url}{status['errors_url']}"):
            hidden = httpx.get(url, auth=identity.auth(user))
            assert hidden.status_code == 404, user
            assert hidden.json() == {"detail": f"No bulk intake job with id {status['job_id']}"}
    assert httpx.get(status_url, auth=identity.auth("officer-employment-64")).status_code == 403
    with sheet.open("rb") as file:
        not_a_clerk = httpx.post(f"{intake.url}/v1/intakes/bulk", files={"file": (sheet.name, file)},
                                 auth=identity.auth("province-64"))
    assert not_a_clerk.status_code == 403


def _thai_workbook(path: Path) -> dict[int, str]:
    import openpyxl

    rng = random.Random(6406)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["แบบส่งต่อความต้องการแรงงาน จังหวัดสุโขทัย"])  # a title above the header
    sheet.append(["โครงการต้นทาง", "หน่วยงาน", "ผู้รายงาน", "เลขประจำตัวประชาชน", "ชื่อ-นามสกุล", "เพศ", "วันเกิด",
                  "เบอร์โทรศัพท์", "ประเภทแรงงาน", "ตำบล", "อำเภอ", "จังหวัด", "ความต้องการ",
                  "ยินยอมให้ส่งต่อข้อมูล", "หมายเหตุเจ้าหน้าที่"])
    for number in range(3, 23):
        nid = thai_national_id(rng)
        sheet.append([
            "ศูนย์ฟื้นฟูสภาพทางสังคม", 6406, "officer-0017", int(nid) if number % 2 else nid, "สมชาย ใจดี", "ชาย",
            datetime(1969 + number, 3, 14), "0812345678", "แรงงานนอกระบบ", "คลองตาล", "ศรีสำโรง", "สุโขทัย",
            "job_registration, skill_training", "ใช่", "โทรนัดแล้ว",
        ])
    sheet["G5"] = datetime(2512, 3, 14)  # a Buddhist-Era year typed into a date cell
    sheet["H9"] = 812345678  # a phone Excel turned into a number, losing its 0
    sheet["J14"] = "ไม่มีตำบลนี้"
    sheet["B18"] = 2401  # a row of another org unit: refused, the others go through
    workbook.save(path)
    return {5: "วันเกิด", 9: "เบอร์โทรศัพท์", 14: "ตำบล / อำเภอ / จังหวัด", 18: "หน่วยงาน"}
