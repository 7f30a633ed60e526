"""A registry file's columns, and finding them in its header row. Pure: no I/O.

Registry extracts reach the office from different systems (TPMAP, the Department of
Employment's informal-labour database), re-saved by hand, so headers come Thai or English, in
any case and spacing, sometimes both ("รหัสจังหวัด (province)"). The same leniency as the bulk
intake sheet, from the shared matcher.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.sheet_headers import HeaderVocabulary, clean_header

NATIONAL_ID, HOUSEHOLD_ID, PROVINCE, DISTRICT = "national_id", "household_id", "province", "district"


@dataclass(frozen=True, slots=True)
class RegistryColumn:
    key: str
    english: str
    thai: str
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[RegistryColumn, ...] = (
    RegistryColumn(NATIONAL_ID, "national_id", "เลขประจำตัวประชาชน",
                   ("national_id_number", "citizen_id", "pid", "id_card", "id_card_number",
                    "เลขบัตรประชาชน", "เลขบัตรประจำตัวประชาชน", "เลขประจำตัวประชาชน13หลัก")),
    RegistryColumn(HOUSEHOLD_ID, "household_id", "รหัสบ้าน",
                   ("household", "household_code", "house_id", "house_code", "hh_id",
                    "รหัสครัวเรือน", "เลขรหัสบ้าน", "รหัสประจำบ้าน")),
    RegistryColumn(PROVINCE, "province", "รหัสจังหวัด",
                   ("province_code", "province_id", "changwat", "changwat_code", "จังหวัด")),
    RegistryColumn(DISTRICT, "district", "รหัสอำเภอ",
                   ("district_code", "district_id", "amphoe", "amphoe_code", "อำเภอ", "รหัสอำเภอเขต",
                    "อำเภอเขต", "เขต")),
)
BY_KEY = {column.key: column for column in COLUMNS}

# One vocabulary of header names for this sheet, matched the way every office sheet is.
_VOCABULARY = HeaderVocabulary(COLUMNS)
column_for = _VOCABULARY.column_for


def required_columns(*, household_required: bool) -> tuple[str, ...]:
    return (NATIONAL_ID, HOUSEHOLD_ID, PROVINCE, DISTRICT) if household_required else (NATIONAL_ID, PROVINCE, DISTRICT)


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    positions: dict[str, int]  # column key -> index of the cell in each row
    headers: dict[str, str]  # column key -> the header as the file writes it
    unknown: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.problems


def match_headers(row: Sequence[str], *, household_required: bool) -> HeaderMatch:
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    unknown: list[str] = []
    problems: list[str] = []
    for index, raw in enumerate(row):
        text = clean_header(raw)
        if not text:
            continue
        key = column_for(text)
        if key is None:
            unknown.append(text)
        elif key in positions:
            problems.append(f'Columns "{headers[key]}" and "{text}" both mean {describe_column(key)}; keep one.')
        else:
            positions[key], headers[key] = index, text
    missing = [key for key in required_columns(household_required=household_required) if key not in positions]
    if missing:
        problems.append("Missing columns: " + ", ".join(describe_column(key) for key in missing) + ".")
    return HeaderMatch(positions, headers, unknown, problems)


def describe_column(key: str) -> str:
    column = BY_KEY[key]
    return f"{column.english} ({column.thai})"
