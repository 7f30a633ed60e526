"""Matching the header row of a sheet typed by hand (bulk intake sheets, registry extracts) to
known columns: Thai or English, any case, spacing or separators, a BOM, the two encodings of
Thai sara am, or both languages at once ("รหัสจังหวัด (province)"). Pure: no I/O."""

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

_IGNORED = re.compile(r"[\s_\-./:*()\[\]|\u200b\u200c\u200d\ufeff]+")
_PARTS = re.compile(r"[/|()\[\]]")


class NamedColumn(Protocol):
    key: str
    english: str
    thai: str
    aliases: tuple[str, ...]


def normalise_header(text: str) -> str:
    """'  เลขประจำตัว ประชาชน*' and 'National ID' -> comparable keys. NFKC makes the precomposed
    sara am (ำ) and nikhahit + sara aa (ํา) one spelling, and full-width letters ASCII."""
    return _IGNORED.sub("", unicodedata.normalize("NFKC", text)).casefold()


def clean_header(header: object) -> str:
    """The header as the sheet shows it, for messages: without BOM or surrounding spaces."""
    return "" if header is None else str(header).replace("\ufeff", "").strip()


class HeaderVocabulary:
    """Every name a column may go by, normalised once."""

    def __init__(self, columns: Iterable[NamedColumn]) -> None:
        self._lookup: dict[str, str] = {}
        for column in columns:
            for name in (column.key, column.english, column.thai, *column.aliases):
                self._lookup.setdefault(normalise_header(name), column.key)

    def column_for(self, header: str) -> str | None:
        """The column key a header names: its whole text, else the one column its parts agree on."""
        whole = normalise_header(header)
        if whole in self._lookup:
            return self._lookup[whole]
        found = {self._lookup.get(normalise_header(part)) for part in _PARTS.split(header) if normalise_header(part)}
        found.discard(None)
        return found.pop() if len(found) == 1 else None

    def match(
        self, row: Sequence[object], *, required: Iterable[str], describe: Callable[[str], str],
        missing_label: str = "Missing required columns",
    ) -> "HeaderMatch":
        """Where each known column is in a header row, what is unknown, and what is wrong
        (a column named twice, a required one missing), in words the clerk can act on."""
        positions: dict[str, int] = {}
        headers: dict[str, str] = {}
        unknown: list[str] = []
        problems: list[str] = []
        for index, raw in enumerate(row):
            text = clean_header(raw)
            if not text:
                continue
            key = self.column_for(text)
            if key is None:
                unknown.append(text)
            elif key in positions:
                problems.append(f'Columns "{headers[key]}" and "{text}" both mean {describe(key)}; keep one.')
            else:
                positions[key], headers[key] = index, text
        missing = [key for key in required if key not in positions]
        if missing:
            problems.append(f"{missing_label}: " + ", ".join(describe(key) for key in missing) + ".")
        return HeaderMatch(positions, headers, unknown, problems)


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    positions: dict[str, int]  # column key -> index of the cell in each row
    headers: dict[str, str]  # column key -> the header as the sheet writes it
    unknown: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.problems
