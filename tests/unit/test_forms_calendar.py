"""Thai calendar for the forms: Buddhist Era years, Thai month names, the 1 Oct – 30 Sep fiscal year."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from reporting.forms.thai_calendar import (
    THAI_MONTHS,
    FiscalYear,
    Month,
    MonthError,
    buddhist_year,
    christian_year,
    parse_fiscal_year,
    parse_month,
    thai_date,
)

BANGKOK = ZoneInfo("Asia/Bangkok")


def test_buddhist_era_is_christian_era_plus_543():
    assert buddhist_year(2026) == 2569
    assert buddhist_year(2023) == 2566
    assert christian_year(2567) == 2024


def test_thai_month_names_in_calendar_order():
    assert THAI_MONTHS[0] == "มกราคม"
    assert THAI_MONTHS[9] == "ตุลาคม"
    assert THAI_MONTHS[10] == "พฤศจิกายน"
    assert THAI_MONTHS[11] == "ธันวาคม"
    assert len(set(THAI_MONTHS)) == 12


def test_month_labels_as_the_forms_write_them():
    month = Month(2026, 11)
    assert month.key == "2026-11"
    assert month.name_th == "พฤศจิกายน"
    assert month.label_th == "พฤศจิกายน พ.ศ. 2569"
    assert month.title_th == "ประจำเดือนพฤศจิกายน พ.ศ. 2569"
    assert Month(2027, 1).title_th == "ประจำเดือนมกราคม พ.ศ. 2570"


def test_month_arithmetic_crosses_years_and_leap_februaries():
    assert Month(2026, 12).next() == Month(2027, 1)
    assert Month(2027, 1).previous() == Month(2026, 12)
    assert Month(2028, 2).last_day == date(2028, 2, 29)
    assert Month(2026, 2).last_day == date(2026, 2, 28)
    assert Month(2026, 12).last_day == date(2026, 12, 31)


def test_fiscal_year_boundary_30_september_and_1_october():
    assert FiscalYear.of(date(2024, 9, 30)).be_year == 2567
    assert FiscalYear.of(date(2024, 10, 1)).be_year == 2568
    assert FiscalYear.of(date(2023, 10, 1)).be_year == 2567
    assert FiscalYear.of(date(2023, 9, 30)).be_year == 2566


def test_fiscal_year_2567_runs_1_oct_2023_to_30_sep_2024():
    fy = FiscalYear(2567)
    assert (fy.start, fy.end) == (date(2023, 10, 1), date(2024, 9, 30))
    assert fy.label_th == "ปีงบประมาณ พ.ศ. 2567"
    assert [m.key for m in fy.months] == [
        "2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-03",
        "2024-04", "2024-05", "2024-06", "2024-07", "2024-08", "2024-09",
    ]
    assert date(2024, 9, 30) in fy and date(2024, 10, 1) not in fy
    assert Month(2023, 10) in fy and Month(2023, 9) not in fy
    assert Month(2024, 9).fiscal_year == fy and Month(2024, 10).fiscal_year == FiscalYear(2568)


def test_an_aware_time_is_placed_in_thai_time_before_the_fiscal_year_is_chosen():
    # 30 Sep 17:30 UTC is already 1 Oct 00:30 in Bangkok: the new fiscal year.
    moment = datetime(2024, 9, 30, 17, 30, tzinfo=UTC)
    assert FiscalYear.of(moment).be_year == 2568
    assert Month.of(moment) == Month(2024, 10)
    assert thai_date(moment) == "1 ตุลาคม พ.ศ. 2567"
    with pytest.raises(ValueError, match="naive"):
        Month.of(datetime(2024, 9, 30, 17, 30))


def test_thai_date():
    assert thai_date(date(2026, 11, 25)) == "25 พฤศจิกายน พ.ศ. 2569"


def test_parse_month_reads_yyyy_mm():
    assert parse_month("2026-11") == Month(2026, 11)
    assert parse_month(" 2026-01 ") == Month(2026, 1)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-11", "2026/11", "พ.ย. 2569", "", "2026-11-01", "๒๐๒๖-๑๑"])
def test_parse_month_refuses_anything_else_with_a_clear_error(text):
    with pytest.raises(MonthError) as caught:
        parse_month(text)
    assert f"'{text}'" in str(caught.value)  # the value sent, quoted, so the caller sees it
    assert "YYYY-MM" in str(caught.value) or "01-12" in str(caught.value)
    assert caught.value.reason_th


def test_parse_month_spots_a_buddhist_era_year_and_gives_the_conversion():
    with pytest.raises(MonthError) as caught:
        parse_month("2569-11")
    assert "Buddhist Era" in str(caught.value) and "2026" in str(caught.value)
    assert "พ.ศ." in caught.value.reason_th and "2026" in caught.value.reason_th


def test_parse_fiscal_year_is_written_in_the_buddhist_era():
    assert parse_fiscal_year("2567") == FiscalYear(2567)
    with pytest.raises(MonthError) as caught:
        parse_fiscal_year("2024")
    assert "2567" in str(caught.value) and "2568" in str(caught.value)
    for text in ("FY67", "๒๕๖๗", "67"):
        with pytest.raises(MonthError):
            parse_fiscal_year(text)
