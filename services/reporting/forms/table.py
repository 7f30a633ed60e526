"""What a monthly form is before it becomes a file: title lines, header rows, data rows. SP-12 and
SNB-2 build one; `render` turns it into CSV or XLSX without knowing which form it is.

Rows are one per person (counted by national ID), because the title line says "จำนวน … คน" and a
clerk's count is the last ลำดับที่: a person helped twice is one line whose assistance cell
lists both helps.
"""

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

Cell = str | int | None
Entry = TypeVar("Entry")

# [0-9], not \d: \d also matches Thai digits (๐-๙), which no registry or form lookup would match.
_NATIONAL_ID = re.compile(r"^[0-9]{13}$")
_LEADING_VOWELS = frozenset("เแโใไ")
JOIN = ", "


@dataclass(frozen=True, slots=True, kw_only=True)
class FormTable:
    form: str
    """'sp12' or 'snb2', for file names."""
    sheet_name: str
    title_lines: tuple[str, ...]
    header_rows: tuple[tuple[str, ...], ...]
    header_merges: tuple[tuple[int, int, int, int], ...]
    """(first row, first column, last row, last column), 1-based within the header block."""
    rows: tuple[tuple[Cell, ...], ...]
    column_widths: tuple[float, ...]
    text_columns: frozenset[int]
    """0-based columns that must stay text in a spreadsheet (13-digit IDs)."""
    person_count: int
    generated_at: datetime
    """When the report was made (the workbook's created/modified time): never 'now' at render
    time, so rendering the same report twice gives the same bytes."""
    file_stem: str
    """ASCII, e.g. 'sp12_6406_2026-11': safe in a Content-Disposition header and on any disk."""
    note_lines: tuple[str, ...] = ()
    """Lines under the table (SNB-2: which registry snapshot its ticks rest on)."""
    person_refs: frozenset[str] = frozenset()
    """Whose rows the form holds (pseudonymous), for the audit log of who read them; never rendered."""

    @property
    def width(self) -> int:
        return len(self.column_widths)

    def grid(self) -> list[list[Cell]]:
        """Everything, top to bottom, padded to the table's width: what the CSV holds and what
        the XLSX reads back as."""
        lines = [[title] + [None] * (self.width - 1) for title in self.title_lines]
        notes = [[note] + [None] * (self.width - 1) for note in self.note_lines]
        return lines + [list(row) for row in self.header_rows] + [list(row) for row in self.rows] + notes


# What a form shows for a person whose personal data was erased (PDPA): the line stays, so the
# month's count stays, with neither name nor ID.
ERASED_PERSON_TH = "(ข้อมูลส่วนบุคคลถูกลบตามคำขอ)"


def person_key(*, national_id: str, erased_ref: str | None) -> str:
    """Who a row is, for grouping rows into people: the ID, or for an erased person their
    pseudonymous reference (erased people stay one line each, never merged into one)."""
    return national_id if erased_ref is None else f"erased:{erased_ref}"


def check_person(*, national_id: str, erased_ref: str | None) -> None:
    if erased_ref is None:
        check_national_id(national_id)
    elif national_id:
        raise ValueError("an erased person's row carries no national ID")


def check_national_id(value: str) -> str:
    """The forms print IDs as they are; a value that is not 13 ASCII digits is a caller's
    mistake (a number that lost its digits, a masked ID) and must not reach a form."""
    if not isinstance(value, str) or not _NATIONAL_ID.match(value):
        raise ValueError("national_id must be 13 digits written as text")
    return value


def thai_sort_key(text: str) -> str:
    """Approximate Thai dictionary order. Code-point order puts every name starting with a
    leading vowel (เ แ โ ใ ไ) after ฮ; a Thai reader looks them up under their consonant, so
    each such vowel is moved after the consonant it precedes."""
    chars = list(text)
    index = 0
    while index < len(chars) - 1:
        if chars[index] in _LEADING_VOWELS and "ก" <= chars[index + 1] <= "ฮ":
            chars[index], chars[index + 1] = chars[index + 1], chars[index]
            index += 1  # the vowel now sits after its consonant: do not move it again
        index += 1
    return "".join(chars)


def joined(values: Iterable[str]) -> str:
    """Distinct non-empty values, sorted so the cell does not depend on the order facts come
    out of a database (a rebuilt report must equal the live one)."""
    return JOIN.join(sorted({value.strip() for value in values if value and value.strip()}))


def by_person(entries: Iterable[Entry], *, national_id: Callable[[Entry], str],
              name: Callable[[Entry], str]) -> list[list[Entry]]:
    """Entries grouped per person (national ID), people in Thai name order, ID breaking ties."""
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(national_id(entry), []).append(entry)
    return [groups[key] for key in sorted(groups, key=lambda k: (thai_sort_key(joined(map(name, groups[k]))), k))]


def count_line(title_th: str, people: int) -> str:
    """'ประจำเดือนพฤศจิกายน พ.ศ. 2569 จำนวน 3 คน': the month and the count share one line, as on
    both paper forms ("ประจำเดือน..... จำนวน.....คน")."""
    return f"{title_th} จำนวน {people:,} คน"


def header_spans(header_rows: Sequence[Sequence[str]]) -> tuple[tuple[int, int, int, int], ...]:
    """Merges for a two-row header drawn like the paper: a column with nothing under it spans
    both rows; a heading followed by empty cells spans those columns (SNB-2's หมายเหตุ)."""
    if len(header_rows) < 2:
        return ()
    top, bottom = header_rows[0], header_rows[1]
    spans = []
    column = 0
    while column < len(top):
        if top[column] and not bottom[column]:
            spans.append((1, column + 1, 2, column + 1))
            column += 1
            continue
        end = column
        while end + 1 < len(top) and not top[end + 1] and bottom[end + 1]:
            end += 1
        if end > column:
            spans.append((1, column + 1, 1, end + 1))
        column = end + 1
    return tuple(spans)
