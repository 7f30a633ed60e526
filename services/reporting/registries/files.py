"""Reading a registry CSV row by row (never whole), and writing its rejects file."""

import contextlib
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from reporting.registries.columns import describe_column, match_headers, required_columns
from reporting.registries.rows import Rejection, RowLayout

Row = tuple[int, list[str]]  # (record number, the header being 1 when it is the first line; cells)
HEADER_SEARCH_ROWS = 10  # an export may carry a title line or two above the header
_DELIMITERS = (",", ";", "\t")
REJECTS_HEADER = ("row", "column", "value", "reason", "reason_th")
# Excel opens a CSV as UTF-8 only when it starts with a byte-order mark; without it Thai is garbled.
BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class RegistryFileError(Exception):
    """The file cannot be imported at all; nothing of it is stored."""


@contextlib.contextmanager
def open_registry(path: Path, *, household_required: bool) -> Iterator[tuple[RowLayout, Iterator[Row]]]:
    """The file's column layout and its data rows, read lazily. Fails before any row is
    imported when the header lacks a column."""
    # utf-8-sig: Excel's "CSV UTF-8" starts with a BOM, other tools write none; both read the same.
    with path.open(encoding="utf-8-sig", newline="") as file:
        try:
            first_line = file.readline()
        except UnicodeDecodeError:
            raise RegistryFileError(_not_utf8("at the first line")) from None
        file.seek(0)
        delimiter = max(_DELIMITERS, key=first_line.count) if first_line else ","
        rows = _records(csv.reader(file, delimiter=delimiter))
        yield _find_header(rows, household_required=household_required), rows


def _records(reader) -> Iterator[Row]:  # noqa: ANN001
    # The reader counts records, not lines: a quoted cell may span lines yet is one row.
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):  # noqa: B007 - used in the messages
            yield number, cells
    except UnicodeDecodeError:
        raise RegistryFileError(_not_utf8(f"after row {number}")) from None
    except csv.Error as error:
        raise RegistryFileError(f"The CSV cannot be read after row {number}: {error}") from None


def _find_header(rows: Iterator[Row], *, household_required: bool) -> RowLayout:
    first_problems: list[str] | None = None
    for _number, cells in _first_filled(rows):
        match = match_headers(cells, household_required=household_required)
        if match.usable:
            return RowLayout(match.positions, match.headers, household_required)
        first_problems = first_problems or match.problems
    expected = ", ".join(describe_column(key) for key in required_columns(household_required=household_required))
    if first_problems is None:
        raise RegistryFileError("The file has no rows.")
    raise RegistryFileError(f"No header row found: {' '.join(first_problems)} Expected columns: {expected}.")


def _first_filled(rows: Iterator[Row]) -> Iterator[Row]:
    seen = 0
    for number, cells in rows:
        if any(cell.strip() for cell in cells):
            yield number, cells
            seen += 1
            if seen >= HEADER_SEARCH_ROWS:
                return


def _not_utf8(where: str) -> str:
    return (f"The file is not UTF-8 text ({where}). Save it as 'CSV UTF-8 (Comma delimited)'. "
            "(ไฟล์ไม่ได้เข้ารหัส UTF-8 กรุณาบันทึกเป็น 'CSV UTF-8 (Comma delimited)')")


class RejectsFile:
    """The rejects CSV, created at the first rejected row, so a clean import leaves none; a
    file left by an earlier import of the same name is removed first, since it would mislead."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.written = False
        self._file: TextIO | None = None
        self._writer = None
        if path is not None:
            path.unlink(missing_ok=True)

    def add(self, rejections: list[Rejection]) -> None:
        if self.path is None:
            return
        if self._writer is None:
            self._file = self.path.open("w", encoding="utf-8", newline="")
            self._file.write(BOM)
            self._writer = csv.writer(self._file, lineterminator="\r\n")
            self._writer.writerow(REJECTS_HEADER)
            self.written = True
        self._writer.writerows((r.row, _cell(r.column), _cell(r.value), r.reason, r.reason_th) for r in rejections)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _cell(text: str) -> str:
    """Excel runs a cell starting with = + - @ as a formula, even from a CSV: shown as text."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text
