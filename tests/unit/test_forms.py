"""Forms SP-12 and SNB-2 from a small fixed set of helps, compared cell by cell with the expected
files in tests/fixtures/forms/ (the CSVs were written by hand from the paper forms' wording; the
XLSX files were rendered once and checked to hold the same cells)."""

import io
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from reporting.forms import (
    RegistrySnapshot,
    Month,
    Snb2Row,
    Sp12Row,
    read_csv_rows,
    read_xlsx_rows,
    render,
    render_csv,
    render_xlsx,
    snb2_form,
    sp12_form,
)
from reporting.forms.render import FONT_NAME
from reporting.forms.snb2 import registry_status
from reporting.forms.table import thai_sort_key

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "forms"
BANGKOK = ZoneInfo("Asia/Bangkok")
NOVEMBER = Month(2026, 11)

INFORMAL, ELDERLY, DISABLED = "แรงงานนอกระบบ", "แรงงานสูงอายุ", "แรงงานคนพิการ"
JOB_REGISTRATION = "ส่งเสริม: ลงทะเบียนสมัครงาน"
ARTICLE_40 = "คุ้มครอง: สมัครผู้ประกันตนมาตรา 40"
ARTICLE_40_DONE = "คุ้มครอง: สมัครผู้ประกันตนมาตรา 40 (ผล: สมัครเป็นผู้ประกันตนมาตรา 40 แล้ว)"
ARTICLE_33 = "คุ้มครอง: ตรวจสอบสิทธิประกันสังคมมาตรา 33 (เงินชราภาพ) (ผล: มีสิทธิได้รับประโยชน์ทดแทน)"
TRAINING = "พัฒนา: ฝึกอบรมฝีมือแรงงาน / ฝึกอาชีพ (ผล: เข้ารับการฝึกอบรม)"
PREVENTION = "ระวังภัย: ประชาสัมพันธ์ป้องกันยาเสพติด"
PLACED = "ส่งเสริม: จัดหางาน / บรรจุงาน (ผล: ได้งานทำ / บรรจุงานแล้ว)"
# Every SNB-2 row is under the one action plan, whatever programme found the person (forms.labels).
ACTION_PLAN = "แผนปฏิบัติการส่งเสริม คุ้มครอง และพัฒนาแรงงานนอกระบบ"

SOMCHAI, PENSRI, BOONMEE, KANDA, WANPEN = (
    ("สมชาย ใจดี", "3640100456781"),
    ("เพ็ญศรี แก้วมณี", "3640600123455"),
    ("บุญมี ศรีสุข", "3640601543211"),
    ("กานดา ทองดี", "3640200777776"),
    ("วันเพ็ญ มีสุข", "3640101333331"),
)

# Unsorted on purpose, with a person helped twice and one help listed twice (as a transferred
# referral can be): the form must still list four people, in Thai name order.
SP12_ROWS = [
    Sp12Row(full_name=SOMCHAI[0], national_id=SOMCHAI[1], assistance=JOB_REGISTRATION, worker_type=INFORMAL),
    Sp12Row(full_name=PENSRI[0], national_id=PENSRI[1], assistance=ARTICLE_33, worker_type=ELDERLY),
    Sp12Row(full_name=SOMCHAI[0], national_id=SOMCHAI[1], assistance=ARTICLE_40_DONE, worker_type=INFORMAL),
    Sp12Row(full_name=BOONMEE[0], national_id=BOONMEE[1], assistance=TRAINING, worker_type=DISABLED),
    Sp12Row(full_name=KANDA[0], national_id=KANDA[1], assistance=PREVENTION, worker_type=INFORMAL),
    Sp12Row(full_name=SOMCHAI[0], national_id=SOMCHAI[1], assistance=JOB_REGISTRATION, worker_type=INFORMAL),
]
SNB2_ROWS = [
    Snb2Row(plan_project=ACTION_PLAN, full_name=SOMCHAI[0], national_id=SOMCHAI[1], assistance=JOB_REGISTRATION,
            worker_type=INFORMAL, on_registry=False),
    Snb2Row(plan_project=ACTION_PLAN, full_name=PENSRI[0], national_id=PENSRI[1], assistance=ARTICLE_33,
            worker_type=ELDERLY, on_registry=False),
    Snb2Row(plan_project=ACTION_PLAN, full_name=BOONMEE[0], national_id=BOONMEE[1], assistance=TRAINING,
            worker_type=DISABLED, on_registry=None),
    Snb2Row(plan_project=ACTION_PLAN, full_name=SOMCHAI[0], national_id=SOMCHAI[1], assistance=ARTICLE_40,
            worker_type=INFORMAL, on_registry=True),
    Snb2Row(plan_project=ACTION_PLAN, full_name=WANPEN[0], national_id=WANPEN[1], assistance=PLACED,
            worker_type=INFORMAL, on_registry=True),
]
SP12_AT = datetime(2026, 11, 25, 9, 0, tzinfo=BANGKOK)
SNB2_AT = datetime(2026, 12, 5, 9, 0, tzinfo=BANGKOK)


def sp12(rows=SP12_ROWS, month=NOVEMBER, at=SP12_AT):  # noqa: ANN001, ANN201
    return sp12_form(org_unit="6406", org_unit_name="หน่วยบริการชุมชนแรงงานนอกระบบ อำเภอศรีสำโรง",
                     province_name="สุโขทัย", month=month, rows=rows, generated_at=at)


# The registry snapshot the ticks were checked against, named under the table.
SNAPSHOT = RegistrySnapshot(effective_date=date(2026, 10, 1), imported_at=datetime(2026, 10, 2, 10, 30, tzinfo=BANGKOK))


def snb2(rows=SNB2_ROWS, month=NOVEMBER, at=SNB2_AT):  # noqa: ANN001, ANN201
    return snb2_form(province_name="สุโขทัย", province_code="64", month=month, rows=rows, generated_at=at,
                     snapshots=[SNAPSHOT])


def assert_same_cells(actual: list[list], expected: list[list]) -> None:
    """Cell by cell, naming the first cell that differs the way Excel does (row number, column letter)."""
    for number, (got, want) in enumerate(zip(actual, expected, strict=False), start=1):
        for column, (a, e) in enumerate(zip(got, want, strict=False)):
            assert a == e, f"cell {chr(65 + column)}{number}: {a!r} != expected {e!r}"
        assert len(got) == len(want), f"row {number}: {len(got)} cells, expected {len(want)}"
    assert len(actual) == len(expected), f"{len(actual)} rows, expected {len(expected)}"


def as_text(rows: list[list]) -> list[list[str]]:
    return [["" if value is None else str(value) for value in row] for row in rows]


@pytest.mark.parametrize(("build", "name"), [(sp12, "sp12-6406-2026-11"), (snb2, "snb2-64-2026-11")])
def test_csv_matches_the_expected_file_cell_by_cell_and_byte_for_byte(build, name):
    expected = (FIXTURES / f"{name}.csv").read_bytes()
    rendered = render_csv(build())
    assert_same_cells(read_csv_rows(rendered), read_csv_rows(expected))
    assert rendered == expected


@pytest.mark.parametrize(("build", "name"), [(sp12, "sp12-6406-2026-11"), (snb2, "snb2-64-2026-11")])
def test_xlsx_matches_the_expected_file_and_holds_the_same_cells_as_the_csv(build, name):
    rendered = read_xlsx_rows(render_xlsx(build()))
    assert_same_cells(rendered, read_xlsx_rows((FIXTURES / f"{name}.xlsx").read_bytes()))
    assert_same_cells(as_text(rendered), read_csv_rows((FIXTURES / f"{name}.csv").read_bytes()))


def test_a_person_is_counted_once_however_many_helps():
    form = sp12()
    assert form.person_count == 4
    assert form.title_lines[-1] == "ประจำเดือนพฤศจิกายน พ.ศ. 2569 จำนวน 4 คน"
    assert [row[0] for row in form.rows] == [1, 2, 3, 4]
    assert [row[2] for row in form.rows].count(SOMCHAI[1]) == 1


def test_people_are_listed_in_thai_order_whatever_order_the_facts_came_in():
    # เพ็ญศรี is looked up under พ, not after ฮ as code points would put her.
    assert [row[1] for row in sp12().rows] == [KANDA[0], BOONMEE[0], PENSRI[0], SOMCHAI[0]]
    assert sorted(["ไก่", "ขวด", "กา"], key=thai_sort_key) == ["กา", "ไก่", "ขวด"]
    assert render_csv(sp12(rows=list(reversed(SP12_ROWS)))) == render_csv(sp12())
    assert render_xlsx(snb2(rows=list(reversed(SNB2_ROWS)))) == render_xlsx(snb2())


def test_csv_starts_with_a_bom_so_excel_shows_thai():
    for form in (sp12(), snb2(), sp12(rows=[])):
        data = render(form, fmt="csv")
        assert data.startswith(b"\xef\xbb\xbf")
        assert data.decode("utf-8-sig").startswith("แบบ ")


def test_the_id_column_is_text_in_xlsx_leading_zero_kept():
    rows = [*SP12_ROWS, Sp12Row(full_name="ก ข", national_id="0012345678901", assistance=PREVENTION,
                                worker_type=INFORMAL)]
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx(sp12(rows=rows)))).active
    ids = [row[2] for row in sheet.iter_rows(min_row=7)]
    assert ids, "no data rows"
    for cell in ids:
        assert cell.data_type == "s" and cell.number_format == "@", cell.coordinate
        assert isinstance(cell.value, str) and len(cell.value) == 13
    assert "0012345678901" in [cell.value for cell in ids]
    assert '"0012345678901"' not in render_csv(sp12(rows=rows)).decode("utf-8-sig")


def test_xlsx_layout_titles_merged_bold_header_thai_font_widths():
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx(snb2()))).active
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A1:H1", "A2:H2", "A3:H3", "A4:H4", "A5:H5"} <= merged
    # SNB-2's two header rows as on paper: หมายเหตุ over the two registry columns.
    assert {"A6:A7", "B6:B7", "F6:F7", "G6:H6"} <= merged
    assert sheet["G6"].value == "หมายเหตุ" and sheet["G7"].value == "มีรายชื่อในฐานข้อมูลฯ"
    assert sheet["A6"].font.bold and sheet["A6"].font.name == FONT_NAME
    assert sheet["C8"].font.name == FONT_NAME and not sheet["C8"].font.bold
    assert sheet.column_dimensions["E"].width >= 40
    assert sheet.title == "สนบ.2"


def test_xlsx_is_reproducible_with_the_reports_own_time():
    first, second = render_xlsx(snb2()), render_xlsx(snb2())
    assert first == second
    props = openpyxl.load_workbook(io.BytesIO(first)).properties
    expected = SNB2_AT.astimezone(UTC).replace(tzinfo=None)
    assert props.created == props.modified == expected
    later = render_xlsx(snb2(at=datetime(2026, 12, 6, 9, 0, tzinfo=BANGKOK)))
    assert later != first and read_xlsx_rows(later) == read_xlsx_rows(first)


@pytest.mark.parametrize("build", [sp12, snb2])
def test_an_empty_month_is_a_valid_form_saying_0_people(build):
    form = build(rows=[], month=Month(2026, 12))
    assert form.title_lines[-1] == "ประจำเดือนธันวาคม พ.ศ. 2569 จำนวน 0 คน"
    for rows in (read_csv_rows(render_csv(form)), as_text(read_xlsx_rows(render_xlsx(form)))):
        assert rows[4][0] == "ประจำเดือนธันวาคม พ.ศ. 2569 จำนวน 0 คน"
        assert rows[5][0] == "ลำดับที่"
        assert len(rows) == 5 + len(form.header_rows) + len(form.note_lines)


def test_snb2_names_under_the_table_the_snapshot_its_ticks_rest_on_and_why_a_row_has_none():
    known = [row for row in SNB2_ROWS if row.on_registry is not None]
    assert snb2(rows=known).note_lines == (
        "หมายเหตุ: ตรวจสอบกับฐานข้อมูลแรงงานนอกระบบ ข้อมูล ณ วันที่ 1 ตุลาคม พ.ศ. 2569 (นำเข้าเมื่อ 2 ตุลาคม พ.ศ. 2569)",)
    unknown = snb2_form(province_name="สุโขทัย", province_code="64", month=NOVEMBER, generated_at=SNB2_AT,
                        rows=[row for row in SNB2_ROWS if row.on_registry is None])
    assert unknown.note_lines == ("หมายเหตุ: รายที่ไม่ได้ทำเครื่องหมาย ยังไม่มีฐานข้อมูลแรงงานนอกระบบที่มีผล ณ วันที่ส่งต่อ",)
    assert read_csv_rows(render_csv(unknown))[-1][0] == unknown.note_lines[0]


def test_snb2_names_the_fiscal_year_of_the_month():
    assert "ประจำปีงบประมาณ พ.ศ. 2569" in snb2(month=Month(2026, 9)).title_lines[2]
    assert "ประจำปีงบประมาณ พ.ศ. 2570" in snb2(month=Month(2026, 10)).title_lines[2]


def test_registry_tick_one_answer_per_person():
    def row(on):  # noqa: ANN001, ANN202
        return Snb2Row(plan_project="p", full_name="n", national_id=SOMCHAI[1], assistance="a", worker_type="w",
                       on_registry=on)

    assert registry_status([row(False), row(True)]) is True
    assert registry_status([row(None), row(False)]) is False
    assert registry_status([row(None)]) is None
    ticks = {r[2]: r[6:] for r in snb2().rows}
    assert ticks[SOMCHAI[0]] == ("✓", "") and ticks[PENSRI[0]] == ("", "✓") and ticks[BOONMEE[0]] == ("", "")


def test_a_name_that_looks_like_a_formula_is_never_run():
    rows = [Sp12Row(full_name="=HYPERLINK(\"http://x\")", national_id=SOMCHAI[1], assistance=PREVENTION,
                    worker_type=INFORMAL)]
    form = sp12(rows=rows)
    assert "'=HYPERLINK" in render_csv(form).decode("utf-8-sig")
    cell = openpyxl.load_workbook(io.BytesIO(render_xlsx(form))).active["B7"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


@pytest.mark.parametrize("bad", ["364010045678", "36401004567810", "3-6401-00456-78-1", "๓๖๔๐๑๐๐๔๕๖๗๘๑", 3640100456781])
def test_a_row_without_a_13_digit_id_is_refused(bad):
    with pytest.raises(ValueError, match="13 digits"):
        Sp12Row(full_name="n", national_id=bad, assistance="a", worker_type="w")


def test_file_names_are_ascii():
    assert sp12().file_stem == "sp12_6406_2026-11" and snb2().file_stem == "snb2_64_2026-11"
    with pytest.raises(ValueError, match="format"):
        render(sp12(), fmt="pdf")
