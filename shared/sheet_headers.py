"""Matching the header row of a sheet typed by hand (bulk intake sheets, registry extracts) to
known columns: Thai or English, any case, spacing or separators, a BOM, the two encodings of
Thai sara am, or both languages at once ("รหัสจังหวัด (province)"). Pure: no I/O."""

import re
import unicodedata
from collections.abc import Iterable
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
