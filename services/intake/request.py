"""The intake form as the HTTP API takes it (`POST /v1/intakes`).

Checks that need only the value and the official reference lists live here, as validators;
checks against the need catalog live in `domain.py`, which is given the loaded catalog.
"""

import re
from datetime import date

import geothai
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from intake.clerk_errors import clerk_error
from intake.thai_id import normalise_national_id
from shared.agencies import SourceProgram, WorkerType

_form = ConfigDict(extra="forbid", str_strip_whitespace=True)
MIN_WORKER_AGE, MAX_WORKER_AGE = 15, 110
ELDERLY_AGE = 60


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


class SourceIn(BaseModel):
    model_config = _form
    program: SourceProgram
    org_unit: str = Field(min_length=2, max_length=20)
    reported_by: str = Field(min_length=1, max_length=64)


class AddressIn(BaseModel):
    """Either the 6-digit DOPA subdistrict code, or the Thai names of subdistrict, district and
    province (as written on a paper form), which must resolve to exactly one subdistrict."""

    model_config = _form
    subdistrict_code: str | None = None
    subdistrict: str | None = Field(default=None, max_length=100)
    district: str | None = Field(default=None, max_length=100)
    province: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, pattern=r"^\d{5}$")

    @field_validator("subdistrict_code")
    @classmethod
    def _official_subdistrict(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"\d{6}", value):
            raise clerk_error(
                "subdistrict_code_format",
                "The subdistrict code must be 6 digits (DOPA code, e.g. 640601).",
                "รหัสตำบลต้องเป็นตัวเลข 6 หลัก (รหัสกรมการปกครอง เช่น 640601)",
            )
        if geothai.subdistrict(value) is None:
            raise clerk_error(
                "subdistrict_code_unknown",
                "No subdistrict has this code in the official list.",
                "ไม่พบรหัสตำบลนี้ในบัญชีรายชื่อทางการ",
            )
        return value

    @model_validator(mode="after")
    def _resolve_names(self) -> "AddressIn":
        if self.subdistrict_code is not None:
            return self
        if not self.subdistrict:
            raise clerk_error(
                "address_missing",
                "Give the subdistrict code, or the subdistrict, district and province names.",
                "กรุณากรอกรหัสตำบล หรือชื่อตำบล อำเภอ และจังหวัด",
            )
        found = geothai.match(
            self.subdistrict, district=self.district, province=self.province, postal_code=self.postal_code
        )
        if not found:
            raise clerk_error(
                "address_unknown",
                "No subdistrict in the official list has these names; check the spelling.",
                "ไม่พบตำบลตามชื่อที่กรอกในบัญชีรายชื่อทางการ กรุณาตรวจสอบการสะกด",
            )
        if len(found) > 1:
            candidates = ", ".join(
                f"{a.subdistrict.code} ต.{a.subdistrict.name_th} อ.{a.district.name_th} จ.{a.province.name_th}"
                for a in found[:10]
            )
            raise clerk_error(
                "address_ambiguous",
                f"These names fit {len(found)} subdistricts; add the district or province. Candidates: {candidates}",
                f"ชื่อนี้ตรงกับ {len(found)} ตำบล กรุณาระบุอำเภอหรือจังหวัด ตัวเลือก: {candidates}",
            )
        self.subdistrict_code = found[0].subdistrict.code
        return self


class PersonIn(BaseModel):
    model_config = _form
    national_id: str = Field(max_length=40)
    full_name: str = Field(min_length=1, max_length=200)
    sex: str | None = Field(default=None, pattern="^(male|female|other)$")
    birth_date: date | None = None
    phone: str | None = Field(default=None, max_length=30)
    worker_type: WorkerType
    address: AddressIn

    @field_validator("national_id")
    @classmethod
    def _thai_national_id(cls, value: str) -> str:
        return normalise_national_id(value)

    @field_validator("birth_date")
    @classmethod
    def _plausible_worker_age(cls, value: date | None) -> date | None:
        if value is None:
            return None
        if value >= date.today():
            raise clerk_error(
                "birth_date_future",
                "The birth date is today or in the future; write the year in the Christian Era "
                "(ค.ศ., e.g. 1969), not the Buddhist Era (พ.ศ. 2512).",
                "วันเกิดเป็นวันนี้หรืออนาคต กรุณากรอกปีเป็น ค.ศ. (เช่น 1969) ไม่ใช่ พ.ศ. (2512)",
            )
        age = age_on(value, date.today())
        if not MIN_WORKER_AGE <= age <= MAX_WORKER_AGE:
            raise clerk_error(
                "birth_date_implausible",
                f"This birth date makes the person {age} years old; a worker is "
                f"{MIN_WORKER_AGE}-{MAX_WORKER_AGE}. Check the year (Christian Era, ค.ศ.).",
                f"วันเกิดนี้ทำให้อายุ {age} ปี แรงงานต้องมีอายุ {MIN_WORKER_AGE}-{MAX_WORKER_AGE} ปี "
                "กรุณาตรวจสอบปี (ค.ศ.)",
            )
        return value

    @field_validator("phone")
    @classmethod
    def _thai_phone(cls, value: str | None) -> str | None:
        if not value:
            return None
        digits = _PHONE_SEPARATORS.sub("", value)
        for country_prefix in ("+66", "0066", "66"):
            if digits.startswith(country_prefix) and len(digits) - len(country_prefix) in (8, 9):
                digits = "0" + digits[len(country_prefix):]
                break
        # Mobiles are 10 digits (06, 08, 09); fixed lines 9 digits (02-07).
        if not (re.fullmatch(r"0[689]\d{8}", digits) or re.fullmatch(r"0[2-7]\d{7}", digits)):
            raise clerk_error(
                "phone_format",
                "Not a Thai phone number: a mobile has 10 digits starting 06, 08 or 09; "
                "a fixed line 9 digits starting 02-07.",
                "หมายเลขโทรศัพท์ไม่ถูกต้อง: มือถือ 10 หลัก ขึ้นต้น 06 08 09 หรือโทรศัพท์บ้าน 9 หลัก ขึ้นต้น 02-07",
            )
        return digits


class NeedIn(BaseModel):
    model_config = _form
    code: str = Field(min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=1000)


class ConsentIn(BaseModel):
    model_config = _form
    share_with_agencies: bool
    recorded_at: AwareDatetime
    # Asked only of rehabilitation and CI-centre intakes (domain.national_consent_error); left out,
    # it is "not asked", which is no consent, so clients from before it keep working unchanged.
    share_with_national_system: bool | None = Field(
        default=None,
        description="Rehabilitation and CI-centre intakes only: the person agrees that their results go to "
        "the national drug-rehabilitation system บสต. (ONCB, สำนักงาน ป.ป.ส.). Left out = not asked = no "
        "consent. Refused for any other source programme.",
        examples=[True],
    )


class IntakeRequest(BaseModel):
    """One person, their needs, and their consent, as a front-line unit reports them."""

    model_config = ConfigDict(extra="forbid")
    source: SourceIn
    person: PersonIn
    needs: list[NeedIn] = Field(min_length=1, max_length=20)
    consent: ConsentIn
