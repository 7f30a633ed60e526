"""A sheet row becomes the body `POST /v1/intakes` takes; each refusal names the sheet's column."""

from datetime import datetime
from zoneinfo import ZoneInfo

from intake.bulk.columns import match_headers
from intake.bulk.rows import RowDefaults, answer_problems, prepare, sheet_row
from intake.request import IntakeRequest
from intake.scope import Submitter, not_covered_body
from intake.submission import Answer
from tests.support.examples import contract_example

BANGKOK = ZoneInfo("Asia/Bangkok")
CLERK = Submitter("clerk-subject", org_units=frozenset({"6406"}))
DEFAULTS = RowDefaults(consent_recorded_at=datetime(2026, 11, 20, 14, 0, tzinfo=BANGKOK), zone=BANGKOK,
                       submitter=CLERK)
HEADER = ["ลำดับ", "โครงการต้นทาง", "หน่วยงาน", "ผู้รายงาน", "เลขประจำตัวประชาชน", "ชื่อ-นามสกุล", "เพศ", "วันเกิด",
          "เบอร์โทรศัพท์", "ประเภทแรงงาน", "รหัสตำบล", "ตำบล", "อำเภอ", "จังหวัด", "ความต้องการ", "หมายเหตุ",
          "ยินยอมให้ส่งต่อข้อมูล", "วันที่ให้ความยินยอม"]
MATCH = match_headers(HEADER)
# The contract example, as an office would type it into the sheet.
GOOD = {
    "ลำดับ": "1", "โครงการต้นทาง": "rehab_center", "หน่วยงาน": "6406", "ผู้รายงาน": "officer-0017",
    "เลขประจำตัวประชาชน": "3-6401-00456-78-1", "ชื่อ-นามสกุล": "สมชาย ใจดี", "เพศ": "ชาย", "วันเกิด": "14/03/1969",
    "เบอร์โทรศัพท์": "081-234-5678", "ประเภทแรงงาน": "แรงงานนอกระบบ", "รหัสตำบล": "640601",
    "ความต้องการ": "job_registration; skill_training; ss_article40_enrolment; ss_article33_benefit_check",
    "ยินยอมให้ส่งต่อข้อมูล": "ใช่", "วันที่ให้ความยินยอม": "02/11/2026 09:30",
}


def row(number: int = 2, **changes):  # noqa: ANN201
    cells = {**GOOD, **changes}
    return sheet_row(number, [cells.get(header, "") for header in HEADER], match=MATCH)


def prepared(number: int = 2, *, defaults: RowDefaults = DEFAULTS, **changes):  # noqa: ANN201
    return prepare(row(number, **changes), match=MATCH, defaults=defaults, job_id="job-1")


def problems(**changes) -> dict[str, tuple[str, str]]:
    found = prepared(**changes)
    assert found.submission is None
    return {p.column: (p.value, p.reason) for p in found.problems}


def test_a_row_becomes_the_same_request_as_the_api_body():
    expected = contract_example()
    for need in expected["needs"]:
        need.pop("note", None)
    result = prepared()
    assert result.problems == ()
    assert result.submission.request == IntakeRequest.model_validate(expected)
    assert result.submission.submitter == CLERK, "each row is submitted as the clerk who uploaded the sheet"


def test_the_need_note_applies_to_every_need():
    request = prepared(**{"หมายเหตุ": "ช่างเชื่อม"}).submission.request
    assert {need.note for need in request.needs} == {"ช่างเชื่อม"}


def test_without_a_consent_time_the_upload_time_in_bangkok_is_used():
    request = prepared(**{"วันที่ให้ความยินยอม": ""}).submission.request
    assert request.consent.recorded_at == DEFAULTS.consent_recorded_at


def test_an_address_by_thai_names_is_resolved_by_the_form():
    request = prepared(**{"รหัสตำบล": "", "ตำบล": "คลองตาล", "อำเภอ": "ศรีสำโรง", "จังหวัด": "สุโขทัย"}).submission.request
    assert request.person.address.subdistrict_code == "640601"


def test_each_row_has_its_own_idempotency_key_and_a_fingerprint_of_its_content():
    first, again, other_row = prepared(2), prepared(2), prepared(3)
    assert first.submission.idempotency_key == "bulk:job-1:2"
    assert other_row.submission.idempotency_key == "bulk:job-1:3"
    assert first.submission.fingerprint == again.submission.fingerprint
    assert prepared(2, **{"เพศ": "หญิง"}).submission.fingerprint != first.submission.fingerprint


def test_a_row_with_nothing_in_the_known_columns_is_skipped_even_if_numbered():
    assert sheet_row(9, ["9"] + [""] * (len(HEADER) - 1), match=MATCH) is None


def test_a_form_refusal_names_the_sheet_column_and_the_value_typed():
    found = problems(**{"เลขประจำตัวประชาชน": "3640100456782"})
    value, reason = found["เลขประจำตัวประชาชน"]
    assert value == "3640100456782" and "check" in reason


def test_the_value_shown_is_what_the_clerk_typed_not_what_the_form_received():
    found = problems(**{"วันเกิด": "14/03/2999"})
    assert list(found) == ["วันเกิด"]
    assert found["วันเกิด"][0] == "14/03/2999"


def test_a_buddhist_era_year_gives_one_line_not_also_a_missing_date():
    found = prepared(**{"วันเกิด": "14/03/2512"}).problems
    assert len(found) == 1
    assert (found[0].column, found[0].value) == ("วันเกิด", "14/03/2512")
    assert "1969" in found[0].reason


def test_several_mistakes_in_a_row_are_reported_together_each_in_its_column():
    found = problems(**{"ชื่อ-นามสกุล": "", "เบอร์โทรศัพท์": "12", "ประเภทแรงงาน": "นักบินอวกาศ"})
    assert set(found) == {"ชื่อ-นามสกุล", "เบอร์โทรศัพท์", "ประเภทแรงงาน"}
    assert found["ชื่อ-นามสกุล"] == ("", "This field is required.")


def test_unknown_names_of_an_address_point_at_the_name_columns():
    found = prepared(**{"รหัสตำบล": "", "ตำบล": "ไม่มีตำบลนี้", "อำเภอ": "ศรีสำโรง", "จังหวัด": "สุโขทัย"}).problems
    assert [(p.column, p.value) for p in found] == [("ตำบล / อำเภอ / จังหวัด", "ไม่มีตำบลนี้ / ศรีสำโรง / สุโขทัย")]


def test_a_missing_address_points_at_every_address_column_of_the_sheet():
    found = prepared(**{"รหัสตำบล": ""}).problems
    assert [p.column for p in found] == ["รหัสตำบล / ตำบล / อำเภอ / จังหวัด"]


def test_catalog_refusals_from_submit_many_point_at_the_needs_and_consent_columns():
    refused = Answer(422, {"detail": "...", "errors": [
        {"field": "needs[1].code", "value": "flying_lessons", "reason": "Unknown need code", "reason_th": "ไม่รู้จัก"},
        {"field": "consent.share_with_agencies", "value": False, "reason": "PDPA", "reason_th": "มาตรา 26"},
    ]})
    found = answer_problems(refused, row=row(7, **{"ยินยอมให้ส่งต่อข้อมูล": "ไม่ใช่"}), match=MATCH)
    assert [(p.row, p.column, p.value) for p in found] == [
        (7, "ความต้องการ", "flying_lessons"), (7, "ยินยอมให้ส่งต่อข้อมูล", "ไม่ใช่")]


def test_an_accepted_answer_has_no_problems_and_a_conflict_is_a_row_problem():
    assert answer_problems(Answer(202, {"intake_id": "x"}), row=row(), match=MATCH) == []
    conflict = answer_problems(Answer(409, {"detail": "key reused"}), row=row(4), match=MATCH)
    assert [(p.row, p.column, p.reason) for p in conflict] == [(4, "", "key reused")]


def test_a_refusal_without_thai_gets_the_columns_hint():
    found = prepared(**{"ประเภทแรงงาน": "astronaut"}).problems
    assert "แรงงานนอกระบบ" in found[0].reason_th


def test_a_phone_excel_stored_as_a_number_says_why_its_zero_is_gone():
    found = prepared(**{"เบอร์โทรศัพท์": 812345678}).problems
    assert "leading 0" in found[0].reason and "Text" in found[0].reason


def test_a_note_too_long_for_each_need_is_one_line():
    found = prepared(**{"หมายเหตุ": "x" * 1001}).problems
    assert [p.column for p in found] == ["หมายเหตุ"]


def test_a_row_for_an_org_unit_the_uploader_does_not_cover_is_refused_for_that_alone():
    found = prepared(5, **{"หน่วยงาน": "2401", "เลขประจำตัวประชาชน": "3640100456782"})
    assert found.submission is None
    assert [(p.row, p.column, p.value) for p in found.problems] == [(5, "หน่วยงาน", "2401")]
    reason = found.problems[0]
    assert "only for org unit 6406" in reason.reason and "a clerk of 2401" in reason.reason
    assert "หน่วยงาน 6406" in reason.reason_th and "2401" in reason.reason_th


def test_a_clerk_of_a_whole_province_may_submit_for_any_of_its_org_units():
    provincial_clerk = RowDefaults(consent_recorded_at=DEFAULTS.consent_recorded_at, zone=BANGKOK,
                                   submitter=Submitter("clerk-64", provinces=frozenset({"64"})))
    assert prepared(defaults=provincial_clerk, **{"หน่วยงาน": "6401"}).problems == ()
    refused = prepared(defaults=provincial_clerk, **{"หน่วยงาน": "2401"}).problems
    assert "the org units of province 64" in refused[0].reason


def test_an_org_unit_refusal_from_submit_many_points_at_the_org_unit_column():
    refused = Answer(403, not_covered_body(CLERK, "2401"))
    found = answer_problems(refused, row=row(6, **{"หน่วยงาน": "2401"}), match=MATCH)
    assert [(p.row, p.column, p.value) for p in found] == [(6, "หน่วยงาน", "2401")]
