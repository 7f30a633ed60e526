"""Reading cells as clerks type them: yes/no, dates, times, need lists, Thai labels."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from intake.bulk.cells import (
    BuddhistEraYear,
    CellError,
    as_text,
    parse_date,
    parse_moment,
    parse_need_codes,
    parse_program,
    parse_sex,
    parse_worker_type,
    parse_yes_no,
)

BANGKOK = ZoneInfo("Asia/Bangkok")


@pytest.mark.parametrize("typed", ["yes", "Yes", "TRUE", "true", "1", "ใช่", "ยินยอม", "✓", " y ", True])
def test_yes(typed):
    assert parse_yes_no(typed) is True


@pytest.mark.parametrize("typed", ["no", "FALSE", "0", "ไม่ใช่", "ไม่", "ไม่ยินยอม", "✗", False])
def test_no(typed):
    assert parse_yes_no(typed) is False


def test_an_empty_consent_is_absent_and_an_unclear_one_goes_to_the_form_as_typed():
    assert parse_yes_no("") is None and parse_yes_no(None) is None
    assert parse_yes_no("maybe") == "maybe"
    assert parse_yes_no("/") == "/", "a tick mark that could be anything is not read as consent"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1969-03-14", date(1969, 3, 14)),
        ("14/03/1969", date(1969, 3, 14)),
        ("4/3/1969", date(1969, 3, 4)),
        ("14.03.1969", date(1969, 3, 14)),
        ("14-03-1969", date(1969, 3, 14)),
        (datetime(1969, 3, 14), date(1969, 3, 14)),  # an Excel date cell, as openpyxl gives it
        (date(1969, 3, 14), date(1969, 3, 14)),
        ("25276", date(1969, 3, 14)),  # an Excel serial number that lost its date format
        (25276, date(1969, 3, 14)),
        (25276.0, date(1969, 3, 14)),
    ],
)
def test_dates_in_the_forms_offices_use(typed, expected):
    assert parse_date(typed) == expected


@pytest.mark.parametrize("typed", ["14/03/2512", "2512-03-14", datetime(2512, 3, 14), "29/02/2567"])
def test_a_buddhist_era_year_is_refused_with_the_christian_year_to_write(typed):
    with pytest.raises(BuddhistEraYear) as refused:
        parse_date(typed)
    assert "Buddhist Era" in refused.value.reason
    assert "พ.ศ." in refused.value.reason_th


@pytest.mark.parametrize("typed", ["31/02/1969", "1969", 1969, "14 March 1969", "0", "14/03/69", "soon"])
def test_what_is_not_a_date_is_refused_not_guessed(typed):
    with pytest.raises(CellError) as refused:
        parse_date(typed)
    assert "YYYY-MM-DD" in refused.value.reason and refused.value.reason_th


def test_an_empty_date_is_absent():
    assert parse_date("") is None and parse_date(None) is None


def test_a_time_without_a_zone_is_bangkok_time():
    assert parse_moment("2026-11-02 09:30", zone=BANGKOK) == datetime(2026, 11, 2, 9, 30, tzinfo=BANGKOK)
    assert parse_moment("02/11/2026 09:30", zone=BANGKOK) == datetime(2026, 11, 2, 9, 30, tzinfo=BANGKOK)
    assert parse_moment("02/11/2026", zone=BANGKOK) == datetime(2026, 11, 2, tzinfo=BANGKOK)
    assert parse_moment(datetime(2026, 11, 2, 9, 30), zone=BANGKOK) == datetime(2026, 11, 2, 9, 30, tzinfo=BANGKOK)


def test_a_time_with_a_zone_keeps_it():
    moment = parse_moment("2026-11-02T02:30:00+00:00", zone=BANGKOK)
    assert moment.utcoffset() == timedelta(0) and moment == datetime(2026, 11, 2, 9, 30, tzinfo=BANGKOK)
    assert parse_moment("2026-11-02T09:30+07:00", zone=BANGKOK).tzinfo == timezone(timedelta(hours=7))


def test_a_consent_time_in_the_buddhist_era_or_unreadable_is_refused():
    with pytest.raises(BuddhistEraYear):
        parse_moment("02/11/2569 09:30", zone=BANGKOK)
    with pytest.raises(CellError):
        parse_moment("02/11/2026 25:99", zone=BANGKOK)
    with pytest.raises(CellError):
        parse_moment("yesterday", zone=BANGKOK)


def test_need_codes_are_split_on_semicolons_commas_and_lines():
    assert parse_need_codes("job_registration; skill_training,wage_rights\nss_savings_advice;") == [
        "job_registration", "skill_training", "wage_rights", "ss_savings_advice"]
    assert parse_need_codes("") == [] and parse_need_codes(None) == []


def test_thai_labels_become_the_form_codes_and_unknown_words_are_passed_on():
    assert parse_sex("ชาย") == "male" and parse_sex("หญิง") == "female" and parse_sex("F") == "female"
    assert parse_sex("อื่น ๆ") == "other"
    assert parse_worker_type("แรงงานนอกระบบ") == "informal" and parse_worker_type("Elderly") == "elderly"
    assert parse_program("ศูนย์ฟื้นฟูสภาพทางสังคม") == "rehab_center" and parse_program("TPMAP") == "tpmap"
    assert parse_worker_type("นักบินอวกาศ") == "นักบินอวกาศ"
    assert parse_sex("") is None


def test_cells_as_text_show_what_excel_held():
    assert as_text(3640100456781) == "3640100456781"
    assert as_text(3640100456781.0) == "3640100456781"
    assert as_text(datetime(1969, 3, 14)) == "1969-03-14"
    assert as_text(None) == "" and as_text(" x ") == "x"
