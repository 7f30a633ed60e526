"""Matching a sheet's header row to the intake columns, as offices type headers."""

from intake.bulk.columns import COLUMNS, column_for, expected_headers, match_headers

THAI = ["โครงการต้นทาง", "หน่วยงาน", "ผู้รายงาน", "เลขประจำตัวประชาชน", "ชื่อ-นามสกุล", "ประเภทแรงงาน",
        "รหัสตำบล", "ความต้องการ", "ยินยอมให้ส่งต่อข้อมูล"]
ENGLISH = ["program", "org_unit", "reported_by", "national_id", "full_name", "worker_type",
           "subdistrict_code", "needs", "consent_to_share"]


def test_thai_and_english_headers_name_the_same_columns():
    thai, english = match_headers(THAI), match_headers(ENGLISH)
    assert thai.usable and english.usable
    assert thai.positions == english.positions
    assert thai.headers["national_id"] == "เลขประจำตัวประชาชน"


def test_case_spaces_separators_and_a_bom_do_not_matter():
    assert column_for("\ufeffNational ID") == "national_id"
    assert column_for("  FULL-NAME ") == "full_name"
    assert column_for("Reported By*") == "reported_by"
    assert column_for("ชื่อ - นามสกุล") == "full_name"
    assert column_for("เลขประจำตัว ประชาชน") == "national_id"


def test_a_bom_is_not_part_of_the_header_shown_back():
    match = match_headers(["\ufeffโครงการต้นทาง", *THAI[1:]])
    assert match.usable
    assert match.headers["program"] == "โครงการต้นทาง"


def test_both_encodings_of_thai_sara_am_match():
    decomposed = "อำเภอ".replace("ำ", "\u0e4d\u0e32")  # nikhahit + sara aa, as some keyboards type it
    assert decomposed != "อำเภอ"
    assert column_for(decomposed) == "district"
    assert column_for("รหัสต\u0e4d\u0e32บล") == "subdistrict_code"


def test_a_bilingual_header_matches_by_either_part():
    assert column_for("เลขประจำตัวประชาชน / national_id") == "national_id"
    assert column_for("วันเกิด (birth_date)") == "birth_date"
    assert column_for("ตำบล/แขวง") == "subdistrict"


def test_unknown_columns_are_listed_not_refused():
    match = match_headers([*ENGLISH, "ลำดับ", "remarks", ""])
    assert match.usable
    assert match.unknown == ["ลำดับ", "remarks"]


def test_a_missing_required_column_is_named_in_both_languages():
    match = match_headers([h for h in ENGLISH if h != "national_id"])
    assert not match.usable
    assert match.problems == ["Missing required columns: national_id (เลขประจำตัวประชาชน)."]


def test_the_address_may_be_a_code_or_names_but_not_absent():
    by_names = [h for h in ENGLISH if h != "subdistrict_code"] + ["ตำบล", "อำเภอ", "จังหวัด"]
    assert match_headers(by_names).usable
    neither = match_headers([h for h in ENGLISH if h != "subdistrict_code"])
    assert not neither.usable and "address" in neither.problems[0]


def test_two_columns_meaning_the_same_field_are_refused():
    match = match_headers([*ENGLISH, "เลขประจำตัวประชาชน"])
    assert not match.usable
    assert "both mean national_id" in match.problems[0]


def test_expected_headers_list_every_column_in_both_languages():
    text = expected_headers()
    for column in COLUMNS:
        assert column.english in text and column.thai in text
