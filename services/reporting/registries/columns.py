"""A registry file's columns, and finding them in its header row. Pure: no I/O.

Registry extracts reach the office from different systems (TPMAP, the Department of
Employment's informal-labour database), re-saved by hand, so headers come Thai or English, in
any case and spacing, sometimes both ("รหัสจังหวัด (province)"). The same leniency as the bulk
intake sheet, from the shared matcher.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from shared.sheet_headers import HeaderMatch, HeaderVocabulary

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


def match_headers(row: Sequence[str], *, household_required: bool) -> HeaderMatch:
    return _VOCABULARY.match(row, required=required_columns(household_required=household_required),
                             describe=describe_column, missing_label="Missing columns")


def describe_column(key: str) -> str:
    column = BY_KEY[key]
    return f"{column.english} ({column.thai})"
