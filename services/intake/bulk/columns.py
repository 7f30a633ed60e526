"""The sheet's columns: their Thai and English headers, and matching a sheet's header row to them.

Offices type headers by hand, so matching ignores case, spacing, separators, a BOM and the two
ways Thai sara am can be encoded; a bilingual header such as "เลขประจำตัวประชาชน / national_id"
matches too. Pure: no I/O.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from shared.sheet_headers import HeaderMatch, HeaderVocabulary


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    english: str
    thai: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    # Said back to the clerk when the API's own reason for a refused value has no Thai.
    hint_th: str = "ค่าไม่ถูกต้อง"


COLUMNS: tuple[Column, ...] = (
    Column("program", "program", "โครงการต้นทาง", True,
           ("source_program", "programme", "source", "โครงการ", "แหล่งที่มา"),
           "ค่าที่ใช้ได้: rehab_center, ci_center, tpmap, informal_labour_unit, walk_in"),
    Column("org_unit", "org_unit", "หน่วยงาน", True, ("unit", "organisation_unit", "รหัสหน่วยงาน")),
    Column("reported_by", "reported_by", "ผู้รายงาน", True,
           ("officer", "officer_id", "เจ้าหน้าที่ผู้รายงาน", "รหัสเจ้าหน้าที่")),
    Column("national_id", "national_id", "เลขประจำตัวประชาชน", True,
           ("national_id_number", "citizen_id", "id_card", "เลขบัตรประชาชน", "เลขบัตรประจำตัวประชาชน")),
    Column("full_name", "full_name", "ชื่อ-นามสกุล", True,
           ("name", "ชื่อ-สกุล", "ชื่อสกุล", "ชื่อ")),
    Column("sex", "sex", "เพศ", False, ("gender",), "ค่าที่ใช้ได้: ชาย หญิง อื่น ๆ (male, female, other)"),
    Column("birth_date", "birth_date", "วันเกิด", False, ("date_of_birth", "dob", "birthdate", "วันเดือนปีเกิด")),
    Column("phone", "phone", "เบอร์โทรศัพท์", False,
           ("telephone", "mobile", "phone_number", "โทรศัพท์", "เบอร์โทร", "หมายเลขโทรศัพท์")),
    Column("worker_type", "worker_type", "ประเภทแรงงาน", True, (),
           "ค่าที่ใช้ได้: แรงงานนอกระบบ แรงงานสูงอายุ แรงงานคนพิการ แรงงานในระบบ "
           "(informal, elderly, disabled, formal)"),
    Column("subdistrict_code", "subdistrict_code", "รหัสตำบล", False, ("tambon_code",)),
    Column("subdistrict", "subdistrict", "ตำบล", False, ("tambon", "ตำบล/แขวง", "แขวง")),
    Column("district", "district", "อำเภอ", False, ("amphoe", "อำเภอ/เขต", "เขต")),
    Column("province", "province", "จังหวัด", False, ("changwat",)),
    Column("postal_code", "postal_code", "รหัสไปรษณีย์", False, ("postcode", "zip_code")),
    Column("needs", "needs", "ความต้องการ", True, ("need_codes", "need", "รหัสความต้องการ")),
    Column("need_note", "need_note", "หมายเหตุ", False, ("note", "หมายเหตุความต้องการ")),
    Column("consent", "consent_to_share", "ยินยอมให้ส่งต่อข้อมูล", True,
           ("consent", "share_with_agencies", "ความยินยอม", "ยินยอม"),
           "กรอก ใช่ หรือ ไม่ใช่ (yes / no)"),
    Column("consent_recorded_at", "consent_recorded_at", "วันที่ให้ความยินยอม", False,
           ("consent_date", "วันที่ยินยอม")),
    # Rehabilitation and CI centres only (issue 15); an empty cell is "not asked", i.e. no consent.
    Column("consent_national_system", "consent_national_system", "ยินยอมให้ส่งข้อมูลแก่ระบบ บสต.", False,
           ("share_with_national_system", "ยินยอมส่งข้อมูล บสต.", "ยินยอม บสต.", "ความยินยอม บสต."),
           "กรอก ใช่ หรือ ไม่ใช่ (yes / no) เฉพาะผู้มาจากศูนย์ฟื้นฟูฯ และศูนย์พักคอย เว้นว่างหากไม่ได้ถาม"),
)
BY_KEY = {column.key: column for column in COLUMNS}
# The address is required, given either way: the DOPA code, or the names the model resolves.
ADDRESS_EITHER = ("subdistrict_code", "subdistrict")

# One vocabulary of header names for this sheet, matched the way every office sheet is.
_VOCABULARY = HeaderVocabulary(COLUMNS)
column_for = _VOCABULARY.column_for


def match_headers(row: Sequence[object]) -> HeaderMatch:
    match = _VOCABULARY.match(row, required=[c.key for c in COLUMNS if c.required], describe=describe_column)
    if not any(key in match.positions for key in ADDRESS_EITHER):
        match.problems.append(
            "Missing the address: a subdistrict_code (รหัสตำบล) column, or subdistrict (ตำบล) with "
            "district (อำเภอ) and province (จังหวัด) columns."
        )
    return match


def describe_column(key: str) -> str:
    column = BY_KEY[key]
    return f"{column.english} ({column.thai})"


def expected_headers() -> str:
    """Every header the sheet may use, for a job that cannot start."""
    def line(column: Column) -> str:
        return f"{column.english} / {column.thai}{' (required)' if column.required else ''}"

    return "Expected headers, Thai or English: " + "; ".join(line(c) for c in COLUMNS) + (
        ". The address is required: subdistrict_code, or subdistrict + district + province."
    )
