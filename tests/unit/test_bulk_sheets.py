"""Reading sheets row by row with the row numbers Excel shows; the sample sheets go through."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from intake.bulk.columns import match_headers
from intake.bulk.rows import RowDefaults, prepare, sheet_row
from intake.bulk.sheets import SheetError, count_rows, find_header, open_rows, sniff_kind
from intake.scope import Submitter

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
BANGKOK = ZoneInfo("Asia/Bangkok")


def fits(cells) -> bool:  # noqa: ANN001
    return match_headers(cells).usable


def read(path: Path) -> tuple[int, list[tuple[int, tuple]]]:
    with open_rows(path, sniff_kind(path)) as rows:
        header, data = find_header(rows, fits=fits)
        return header.number, list(data)


def test_csv_with_and_without_bom_reads_the_same(tmp_path):
    text = "national_id,full_name\n3640100456781,สมชาย\n"
    (tmp_path / "bom.csv").write_text(text, encoding="utf-8-sig")
    (tmp_path / "plain.csv").write_text(text, encoding="utf-8")
    with open_rows(tmp_path / "bom.csv", "csv") as bom, open_rows(tmp_path / "plain.csv", "csv") as plain:
        assert list(bom) == list(plain) == [(1, ("national_id", "full_name")), (2, ("3640100456781", "สมชาย"))]


def test_a_semicolon_separated_csv_is_read(tmp_path):
    (tmp_path / "s.csv").write_text("national_id;full_name\n1;ก\n", encoding="utf-8")
    with open_rows(tmp_path / "s.csv", "csv") as rows:
        assert list(rows)[1] == (2, ("1", "ก"))


def test_a_cell_spanning_lines_is_one_row_as_in_excel(tmp_path):
    (tmp_path / "m.csv").write_text('a,b\n"line one\nline two",x\n3,y\n', encoding="utf-8")
    with open_rows(tmp_path / "m.csv", "csv") as rows:
        assert [number for number, _ in rows] == [1, 2, 3]
    assert count_rows(tmp_path / "m.csv", "csv") == 3


def test_xlsx_rows_keep_their_numbers_across_blank_rows_and_a_title(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["A1"] = "แบบส่งต่อ"
    for column, header in enumerate(["program", "org_unit", "reported_by", "national_id", "full_name",
                                     "worker_type", "subdistrict_code", "needs", "consent"], start=1):
        sheet.cell(row=3, column=column, value=header)
    sheet["D5"] = "3640100456781"
    sheet["D8"] = 3640100456781
    workbook.save(tmp_path / "t.xlsx")
    header_row, data = read(tmp_path / "t.xlsx")
    assert header_row == 3
    assert [(number, values[3]) for number, values in data if any(values)] == [(5, "3640100456781"), (8, 3640100456781)]
    assert count_rows(tmp_path / "t.xlsx", "xlsx") == 8


def test_without_a_fitting_header_the_first_filled_row_is_taken_to_say_what_is_missing(tmp_path):
    (tmp_path / "x.csv").write_text("\n\nname,phone\nก,1\n", encoding="utf-8")
    header_row, _ = read(tmp_path / "x.csv")
    assert header_row == 3


def test_a_file_that_is_not_utf8_is_refused_with_how_to_save_it(tmp_path):
    (tmp_path / "thai.csv").write_bytes("national_id,ชื่อ\n".encode("cp874"))
    with pytest.raises(SheetError, match="CSV UTF-8"):
        count_rows(tmp_path / "thai.csv", "csv")


def test_a_broken_xlsx_is_refused(tmp_path):
    (tmp_path / "b.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SheetError, match="not a readable .xlsx"):
        read(tmp_path / "b.xlsx")


@pytest.mark.parametrize("name", ["intake-sheet-sample.csv", "intake-sheet-sample.xlsx"])
def test_every_row_of_the_sample_sheets_is_a_valid_intake(name):
    path = SAMPLES / name
    with open_rows(path, sniff_kind(path)) as rows:
        header, data = find_header(rows, fits=fits)
        match = match_headers(header.cells)
        assert match.unknown == [] and match.usable
        # The samples hold rows of three Sukhothai units (6400, 6402, 6406): a clerk of the province.
        defaults = RowDefaults(consent_recorded_at=datetime(2026, 11, 2, 9, 0, tzinfo=BANGKOK), zone=BANGKOK,
                               submitter=Submitter("clerk-64", provinces=frozenset({"64"})))
        prepared = [prepare(row, match=match, defaults=defaults, job_id="sample")
                    for number, values in data if (row := sheet_row(number, values, match=match))]
    assert len(prepared) == 5
    assert [p.problems for p in prepared] == [()] * 5
