"""Checking one registry row, and what an operator is told about a row that fails. Pure.

A row that passes becomes a member tuple in the order the loader inserts it; the national ID
is turned into its person_ref here and goes no further. A row that fails is reported by
number, column and reason, with the ID masked: the rejects file and the logs may travel
further than the registry extract itself.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError
from stdnum.th import pin

from reporting.registries.columns import DISTRICT, HOUSEHOLD_ID, NATIONAL_ID, PROVINCE

# (row_number, person_ref, household_id, province_code, district_code)
Member = tuple[int, str, str | None, str, str]
HOUSEHOLD_ID_MAX = 40

_SEPARATORS = re.compile(r"[\s\-]")
_THAI_DIGITS = re.compile("[๐-๙]")
_EXCEL_NUMBER = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Rejection:
    row: int
    column: str  # the header as the file writes it
    value: str  # as typed, except a national ID, which is masked
    code: str  # stable, for counting: the reason's text may carry the value
    reason: str
    reason_th: str


@dataclass(frozen=True, slots=True)
class RowLayout:
    """Where each column is in a row, and the header text to name it by."""

    positions: dict[str, int]
    headers: dict[str, str]
    household_required: bool


def mask_national_id(value: str) -> str:
    """Enough to recognise the shape of a mistake, never enough to name a person."""
    if len(value) <= 4:
        return "x" * len(value)
    return value[0] + "".join("x" if ch.isalnum() else ch for ch in value[1:-2]) + value[-2:]


Problem = tuple[str, str, str]  # (code, reason, reason_th)


def national_id_problem(value: str) -> Problem | None:
    """(code, reason, reason_th) for a value that is not a Thai national ID, else None. `value` has
    its spaces and hyphens already removed."""
    if not value:
        return "national_id_empty", "The national ID is empty.", "ไม่มีเลขประจำตัวประชาชน"
    if _EXCEL_NUMBER.match(value):
        return ("national_id_excel_number", "The national ID was turned into a number by Excel (e.g. 3.64E+12): "
                "format the column as Text and export it again.",
                "Excel แปลงเลขประจำตัวประชาชนเป็นตัวเลขแบบย่อ (เช่น 3.64E+12) "
                "กรุณาจัดรูปแบบคอลัมน์เป็นข้อความแล้วส่งออกใหม่")
    if _THAI_DIGITS.search(value):
        return ("national_id_thai_digits", "The national ID contains Thai digits (๐-๙); write it with Arabic digits 0-9.",
                "เลขประจำตัวประชาชนมีเลขไทย (๐-๙) กรุณาใช้เลขอารบิก 0-9")
    if not (value.isascii() and value.isdigit()):
        return ("national_id_not_digits", "The national ID must contain only digits.",
                "เลขประจำตัวประชาชนต้องเป็นตัวเลขเท่านั้น")
    if len(value) != 13:
        return ("national_id_length", f"The national ID must have 13 digits; this one has {len(value)}.",
                f"เลขประจำตัวประชาชนต้องมี 13 หลัก แต่มี {len(value)} หลัก")
    try:
        pin.validate(value)
    except InvalidChecksum:
        return ("national_id_check_digit", "The national ID's last (check) digit does not match the first 12 digits.",
                "เลขตรวจสอบหลักสุดท้ายไม่ตรงกับ 12 หลักแรก")
    except InvalidComponent:
        return ("national_id_first_digit", "Not a valid Thai national ID: the first digit cannot be 0 or 9.",
                "เลขประจำตัวประชาชนไม่ถูกต้อง (หลักแรกต้องไม่ใช่ 0 หรือ 9)")
    except ValidationError:
        return "national_id_invalid", "Not a valid Thai national ID.", "เลขประจำตัวประชาชนไม่ถูกต้อง"
    return None


def _compact_id(value: str) -> str:
    return _SEPARATORS.sub("", value) if ("-" in value or " " in value) else value


RowCheck = Callable[[Sequence[str], int], "Member | list[Rejection]"]


def row_checker(*, layout: RowLayout, hash_id: Callable[[str], str]) -> RowCheck:
    """check(cells, row_number) -> the member the row makes, or every reason it cannot be one.

    Most rows of a registry extract are clean, so they are decided by a fast path with no
    stripping, no regular expression and stdnum's check digit alone (its full validate() costs
    several times more per row); a row the fast path does not accept at once is checked again
    in full, which still accepts it when the only trouble was spaces or hyphens."""
    positions = layout.positions
    id_at, province_at, district_at = positions[NATIONAL_ID], positions[PROVINCE], positions[DISTRICT]
    household_at = positions.get(HOUSEHOLD_ID)
    household_optional = not layout.household_required
    calc_check_digit = pin.calc_check_digit

    def check(cells: Sequence[str], number: int) -> Member | list[Rejection]:
        try:
            national_id, province, district = cells[id_at], cells[province_at], cells[district_at]
            household = cells[household_at] if household_at is not None else ""
        except IndexError:  # a short row: the full check reads its missing cells as empty
            return check_in_full(cells, number=number, layout=layout, hash_id=hash_id)
        if (len(national_id) == 13 and national_id.isascii() and national_id.isdigit() and national_id[0] not in "09"
                and calc_check_digit(national_id) == national_id[12]
                and len(province) == 2 and province.isascii() and province.isdigit()
                and len(district) == 4 and district.startswith(province) and district.isascii() and district.isdigit()
                and ((household.isascii() and household.isalnum() and len(household) <= HOUSEHOLD_ID_MAX)
                     or (household_optional and not household))):
            return number, hash_id(national_id), household or None, province, district
        return check_in_full(cells, number=number, layout=layout, hash_id=hash_id)

    return check


def check_in_full(
    cells: Sequence[str], *, number: int, layout: RowLayout, hash_id: Callable[[str], str]
) -> Member | list[Rejection]:
    def cell(key: str) -> str:
        index = layout.positions.get(key)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    raw_id, household, province, district = cell(NATIONAL_ID), cell(HOUSEHOLD_ID), cell(PROVINCE), cell(DISTRICT)
    national_id = _compact_id(raw_id)
    found = _rejections(number=number, layout=layout, national_id=national_id, raw_id=raw_id,
                        province=province, district=district, household=household)
    return found or (number, hash_id(national_id), household or None, province, district)


def _rejections(
    *, number: int, layout: RowLayout, national_id: str, raw_id: str, province: str, district: str, household: str
) -> list[Rejection]:
    found: list[Rejection] = []

    def reject(key: str, value: str, reason: Problem) -> None:
        found.append(Rejection(number, layout.headers.get(key, key), value, *reason))

    if (problem := national_id_problem(national_id)) is not None:
        reject(NATIONAL_ID, mask_national_id(raw_id), problem)
    province_ok = len(province) == 2 and province.isascii() and province.isdigit()
    if not province_ok:
        reject(PROVINCE, province, (
            "province_not_code", "The province must be its 2-digit DOPA code (e.g. 64 for Sukhothai), not its name.",
            "จังหวัดต้องเป็นรหัส 2 หลักของกรมการปกครอง (เช่น 64 สุโขทัย) ไม่ใช่ชื่อจังหวัด"))
    if not (len(district) == 4 and district.isascii() and district.isdigit()):
        reject(DISTRICT, district, (
            "district_not_code", "The district must be its 4-digit DOPA code (e.g. 6406), not its name.",
            "อำเภอต้องเป็นรหัส 4 หลักของกรมการปกครอง (เช่น 6406) ไม่ใช่ชื่ออำเภอ"))
    elif province_ok and not district.startswith(province):
        reject(DISTRICT, district, (
            "district_outside_province", f"District {district} is not in province {province}: a district code starts with its province's.",
            f"อำเภอรหัส {district} ไม่อยู่ในจังหวัดรหัส {province} (รหัสอำเภอต้องขึ้นต้นด้วยรหัสจังหวัด)"))
    if not household and layout.household_required:
        reject(HOUSEHOLD_ID, household, ("household_id_empty", "The household id is empty.", "ไม่มีรหัสบ้าน"))
    elif len(household) > HOUSEHOLD_ID_MAX:
        reject(HOUSEHOLD_ID, household[:HOUSEHOLD_ID_MAX] + "…", (
            "household_id_too_long", f"The household id is longer than {HOUSEHOLD_ID_MAX} characters.",
            f"รหัสบ้านยาวเกิน {HOUSEHOLD_ID_MAX} ตัวอักษร"))
    elif _CONTROL.search(household):
        reject(HOUSEHOLD_ID, _CONTROL.sub("?", household), (
            "household_id_control_characters", "The household id contains control characters (a tab or line break inside the cell).",
            "รหัสบ้านมีอักขระควบคุม (แท็บหรือการขึ้นบรรทัดใหม่ในเซลล์)"))
    return found
