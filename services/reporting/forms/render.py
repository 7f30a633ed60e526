"""A FormTable as file bytes: CSV (UTF-8 with BOM) or XLSX. Same table in, same bytes out.

Reading back (`read_xlsx_rows`, `read_csv_rows`) is here too, so tests and the amendment diff
compare forms cell by cell instead of trusting bytes of a zip archive.
"""

import csv
import io
from copy import copy
from datetime import UTC, datetime
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from reporting.forms.table import Cell, FormTable
from reporting.forms.thai_calendar import BANGKOK

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Excel opens a CSV as UTF-8 only when it starts with a byte-order mark; without it Thai is garbled.
BOM = "\ufeff"
# The government's Thai font. The file only names it: a machine without it substitutes another
# Thai font, and one with it (every government PC) prints the form as offices expect.
FONT_NAME = "TH Sarabun New"
TITLE_SIZE = 16
BODY_SIZE = 14
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def render(form: FormTable, *, fmt: str) -> bytes:
    if fmt == "csv":
        return render_csv(form)
    if fmt == "xlsx":
        return render_xlsx(form)
    raise ValueError(f"format '{fmt}' is not one of: {', '.join(MEDIA_TYPES)}")


def file_name(form: FormTable, *, fmt: str) -> str:
    return f"{form.file_stem}.{fmt}"


def render_csv(form: FormTable) -> bytes:
    """Title lines, header row(s), data rows; cells beyond a title line left empty, as Excel
    itself saves a sheet with merged titles."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in form.grid():
        writer.writerow([_csv_cell(value) for value in row])
    return (BOM + buffer.getvalue()).encode("utf-8")


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    text = str(value)
    # Excel runs a CSV cell starting with = + - @ as a formula; a name typed that way is shown
    # with a leading apostrophe instead of being executed.
    return f"'{text}" if isinstance(value, str) and text.startswith(_FORMULA_START) else text


def render_xlsx(form: FormTable) -> bytes:
    """Streamed (openpyxl's write-only mode): a province's month is 100,000 rows, which as a
    normal workbook is a third of a gigabyte of cell objects the process never gives back; here
    each row is written out as it is made. Layout is set before the first row, as streaming needs."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(form.sheet_name)
    last_column = form.width
    header_start = len(form.title_lines) + 1
    header_end = header_start + len(form.header_rows) - 1
    for column, width in enumerate(form.column_widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = f"A{header_end + 1}"
    sheet.print_title_rows = f"{header_start}:{header_end}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True

    styles = _Styles(sheet)
    for row_number, title in enumerate(form.title_lines, start=1):
        sheet.append([styles.cell(title, "title")])
        _merge(sheet, row_number, 1, row_number, last_column)
    for header in form.header_rows:
        # Every box of the header drawn, those a merge covers too, so the merged boxes keep their lines.
        sheet.append([styles.cell(value, "header") for value in header])
    for first_row, first_column, last_row, end_column in form.header_merges:
        _merge(sheet, header_start + first_row - 1, first_column, header_start + last_row - 1, end_column)
    for values in form.rows:
        sheet.append([styles.cell(value, _body_style(form, column, value)) for column, value in enumerate(values)])
    for row_number, note in enumerate(form.note_lines, start=header_end + len(form.rows) + 1):
        sheet.append([styles.cell(note, "note")])
        _merge(sheet, row_number, 1, row_number, last_column)

    _set_properties(workbook, form)
    return _reproducible_zip(workbook, form.generated_at)


def _body_style(form: FormTable, column: int, value: Cell) -> str:
    if column in form.text_columns:
        # Text, not a number: 13 digits would show as 3.64E+12 and lose a leading zero.
        return "text"
    # Numbers, IDs and tick marks sit centred in their boxes, as a clerk writes them on paper.
    return "centred" if isinstance(value, int) or len(str(value or "")) <= 1 else "left"


def _merge(sheet, first_row: int, first_column: int, last_row: int, last_column: int) -> None:  # noqa: ANN001
    sheet.merged_cells.add(CellRange(min_row=first_row, min_col=first_column, max_row=last_row, max_col=last_column))


class _Styles:
    """Cells of the form's few styles. A style set on a cell is looked up in the workbook's style
    tables by value each time; a row of a big form would pay that per cell, so each style is
    made once and its index array copied to the cells that wear it."""

    def __init__(self, sheet) -> None:  # noqa: ANN001
        body, boxed = Font(name=FONT_NAME, size=BODY_SIZE), {"border": _BOX}
        top = {"vertical": "top", "wrap_text": True}
        specs = {
            "title": ({"font": Font(name=FONT_NAME, size=TITLE_SIZE, bold=True),
                       "alignment": Alignment(horizontal="center", vertical="center")}),
            "header": {"font": Font(name=FONT_NAME, size=BODY_SIZE, bold=True), **boxed,
                       "alignment": Alignment(horizontal="center", vertical="center", wrap_text=True)},
            "centred": {"font": body, **boxed, "alignment": Alignment(horizontal="center", **top)},
            "left": {"font": body, **boxed, "alignment": Alignment(horizontal="left", **top)},
            "text": {"font": body, **boxed, "alignment": Alignment(horizontal="center", **top), "number_format": "@"},
            "note": {"font": body, "alignment": Alignment(horizontal="left", vertical="top")},
        }
        self._sheet, self._arrays = sheet, {}
        for name, spec in specs.items():
            template = WriteOnlyCell(sheet)
            for attribute, value in spec.items():
                setattr(template, attribute, value)
            self._arrays[name] = template._style

    def cell(self, value: Cell, style: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self._sheet, value=None if value == "" else value)
        if isinstance(value, str) and value.startswith("="):
            # openpyxl stores a string starting with = as a formula; a name is never one.
            cell.data_type = "s"
        cell._style = copy(self._arrays[style])
        return cell


def _set_properties(workbook: Workbook, form: FormTable) -> None:
    if form.generated_at.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware")
    # openpyxl writes the time as UTC without converting it: convert first.
    at = form.generated_at.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    props = workbook.properties
    props.creator = props.lastModifiedBy = "Songtor (ส่งต่อ)"
    props.title = f"{form.title_lines[0]} {form.title_lines[-1]}"
    props.language = "th-TH"
    props.created = props.modified = at


def _reproducible_zip(workbook: Workbook, generated_at: datetime) -> bytes:
    """openpyxl stamps each zip entry with the current time, so two renders differ in bytes;
    the entries are rewritten, in the same order, stamped with the report's own time."""
    raw = io.BytesIO()
    with ZipFile(raw, "w", ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(workbook, archive).write_data()
    stamp = max(generated_at.astimezone(BANGKOK).replace(tzinfo=None), datetime(1980, 1, 1))
    out = io.BytesIO()
    with ZipFile(raw) as source, ZipFile(out, "w", ZIP_DEFLATED) as target:
        for entry in source.infolist():
            info = ZipInfo(entry.filename, date_time=stamp.timetuple()[:6])
            info.compress_type = ZIP_DEFLATED
            info.create_system = 3  # fixed: ZipInfo defaults to the platform it runs on
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(entry.filename))
    return out.getvalue()


def read_xlsx_rows(data: bytes) -> list[list[Cell]]:
    """The first sheet's cells, row by row, None where empty (merged cells read as their top-left
    value and None elsewhere)."""
    workbook = load_workbook(io.BytesIO(data))
    try:
        return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def read_csv_rows(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8-sig")
    return [row for row in csv.reader(io.StringIO(text, newline=""))]
