"""Reading an uploaded sheet row by row, never whole: CSV with the `csv` module, XLSX with
openpyxl in read-only mode. Rows are numbered as the sheet shows them (the header is normally
row 1), so the error report points where the clerk looks."""

import contextlib
import csv
import itertools
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from intake.bulk.cells import Cell

SheetKind = Literal["csv", "xlsx"]
_ZIP = b"PK\x03\x04"
_OLE = bytes.fromhex("d0cf11e0a1b11ae1")  # the old binary .xls
_DELIMITERS = (",", ";", "\t")
NOT_UTF8 = (
    "The file is not UTF-8 text. In Excel, save it as 'CSV UTF-8 (Comma delimited)', "
    "or upload the .xlsx itself. (ไฟล์ไม่ได้เข้ารหัส UTF-8 ใน Excel ให้บันทึกเป็น "
    "'CSV UTF-8 (Comma delimited)' หรืออัปโหลดไฟล์ .xlsx แทน)"
)


class SheetError(Exception):
    """The file cannot be read as a sheet: the job fails with this message."""


Row = tuple[int, tuple[Cell, ...]]  # (number as the sheet shows it, cells)
HEADER_SEARCH_ROWS = 10


@dataclass(frozen=True, slots=True)
class Header:
    number: int
    cells: tuple[Cell, ...]


def sniff_kind(path: Path) -> SheetKind:
    with path.open("rb") as file:
        start = file.read(8)
    if not start:
        raise SheetError("The file is empty. (ไฟล์ว่างเปล่า)")
    if start.startswith(_OLE):
        raise SheetError("Old Excel .xls files are not read: save the sheet as .xlsx or as CSV UTF-8. "
                         "(ไม่รองรับไฟล์ .xls กรุณาบันทึกเป็น .xlsx หรือ CSV UTF-8)")
    return "xlsx" if start.startswith(_ZIP) else "csv"


class SheetTooLarge(SheetError):
    """An XLSX whose contents would unpack past the configured size (a zip bomb, or a sheet too
    big to take in one upload): refused before anything is parsed."""


def check_unpacked_size(path: Path, *, max_bytes: int) -> None:
    """An XLSX is a zip: add up what its members say they unpack to. zipfile refuses to give
    more than a member declares, so the declared sizes are what parsing can cost at most."""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError) as error:
        raise SheetError(f"The .xlsx file cannot be opened ({error}); save it again from Excel. "
                         "(เปิดไฟล์ .xlsx ไม่ได้ กรุณาบันทึกใหม่จาก Excel)") from error
    if unpacked > max_bytes:
        raise SheetTooLarge(
            f"The workbook would unpack to {unpacked // 2**20:,} MB, more than the {max_bytes // 2**20:,} MB "
            "taken in one upload: split it into several sheets, or save it as CSV UTF-8. "
            f"(ไฟล์นี้เมื่อคลายออกมีขนาด {unpacked // 2**20:,} MB เกินกว่าที่รับได้ {max_bytes // 2**20:,} MB "
            "กรุณาแบ่งเป็นหลายไฟล์ หรือบันทึกเป็น CSV UTF-8)"
        )


@contextlib.contextmanager
def open_rows(path: Path, kind: SheetKind) -> Iterator[Iterator[Row]]:
    """Every row of the (first) sheet from row 1, read lazily."""
    opener = _open_xlsx if kind == "xlsx" else _open_csv
    with opener(path) as rows:
        yield rows


def find_header(rows: Iterator[Row], *, fits: Callable[[tuple[Cell, ...]], bool]) -> tuple[Header, Iterator[Row]]:
    """The header row and the data rows below it. The header is the first row that `fits`
    among the first few that are not empty (a sheet may carry a title above it); if none fits,
    the first non-empty row, so the job's failure can say what it lacks."""
    seen: list[Row] = []
    filled = 0
    for row in rows:
        seen.append(row)
        if any(_filled(cell) for cell in row[1]):
            filled += 1
            if fits(row[1]) or filled >= HEADER_SEARCH_ROWS:
                break
    candidates = [r for r in seen if any(_filled(cell) for cell in r[1])]
    if not candidates:
        raise SheetError("The sheet is empty. (ไม่มีข้อมูลในแผ่นงาน)")
    chosen = next((r for r in candidates if fits(r[1])), candidates[0])
    after = [r for r in seen if r[0] > chosen[0]]
    return Header(chosen[0], chosen[1]), itertools.chain(after, rows)


def _filled(cell: Cell) -> bool:
    return cell is not None and str(cell).strip() != ""


def count_rows(path: Path, kind: SheetKind) -> int:
    """The number of the sheet's last row, for the progress bar. Reading a CSV through once
    also finds an encoding problem before any row is submitted."""
    if kind == "xlsx":
        with _workbook(path) as workbook:
            sheet = workbook.worksheets[0]
            if sheet.max_row is not None:  # from the file's own dimension record
                return sheet.max_row
    with open_rows(path, kind) as rows:
        return max((number for number, _ in rows), default=0)


@contextlib.contextmanager
def _open_csv(path: Path) -> Iterator[Iterator[Row]]:
    # utf-8-sig: Excel's "CSV UTF-8" starts with a BOM; other tools write none. Both read the same.
    with path.open(encoding="utf-8-sig", newline="") as file:
        try:
            first_line = file.readline()
        except UnicodeDecodeError:
            raise SheetError(NOT_UTF8) from None
        file.seek(0)
        yield _csv_rows(csv.reader(file, delimiter=_delimiter(first_line)))


def _csv_rows(reader) -> Iterator[Row]:  # noqa: ANN001
    # The reader counts records, not lines: a quoted cell may span lines but is one sheet row.
    number = 0
    try:
        for number, values in enumerate(reader, start=1):  # noqa: B007 - used in the messages
            yield number, tuple(values)
    except UnicodeDecodeError:
        raise SheetError(f"{NOT_UTF8} (after row {number})") from None
    except csv.Error as error:
        raise SheetError(f"The CSV cannot be read after row {number}: {error}") from None


def _delimiter(first_line: str) -> str:
    """Excel writes ';' where the comma is the decimal mark; the header line tells which."""
    return max(_DELIMITERS, key=first_line.count) if first_line else ","


@contextlib.contextmanager
def _workbook(path: Path):  # noqa: ANN202
    import openpyxl  # imported here: only XLSX uploads need it, and it is slow to import
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as error:
        raise SheetError(f"The file is not a readable .xlsx workbook ({type(error).__name__}).") from None
    try:
        yield workbook
    finally:
        workbook.close()


@contextlib.contextmanager
def _open_xlsx(path: Path) -> Iterator[Iterator[Row]]:
    with _workbook(path) as workbook:
        if not workbook.worksheets:
            raise SheetError("The workbook has no worksheet.")
        # Read-only mode streams the sheet's XML; it yields every row from 1, empty ones too,
        # so counting gives the row numbers Excel shows.
        yield enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1)
