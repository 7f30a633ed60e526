"""The intake form as the HTTP API takes it (`POST /v1/intakes`).

Checks that need only the value and the official reference lists live here, as validators;
checks against the need catalog live in `domain.py`, which is given the loaded catalog.
"""

import re
from datetime import date

import geothai
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from intake.clerk_errors import clerk_error
from intake.thai_id import normalise_national_id
from shared.agencies import SourceProgram, WorkerType

_form = ConfigDict(extra="forbid", str_strip_whitespace=True)
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


class SourceIn(BaseModel):
    model_config = _form
    program: SourceProgram
    org_unit: str = Field(min_length=2, max_length=20)
    reported_by: str = Field(min_length=1, max_length=64)


class AddressIn(BaseModel):
    model_config = _form
    subdistrict_code: str

    @field_validator("subdistrict_code")
    @classmethod
    def _official_subdistrict(cls, value: str) -> str:
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
    def _born_in_the_past(cls, value: date | None) -> date | None:
        if value is not None and value >= date.today():
            raise clerk_error(
                "birth_date_future",
                "The birth date is today or in the future; write it in the Christian Era (ค.ศ.).",
                "วันเกิดเป็นวันนี้หรืออนาคต กรุณากรอกเป็นปี ค.ศ.",
            )
        return value

    @field_validator("phone")
    @classmethod
    def _thai_phone(cls, value: str | None) -> str | None:
        if not value:
            return None
        digits = _PHONE_SEPARATORS.sub("", value)
        if digits.startswith("+66"):
            digits = "0" + digits[3:]
        if not re.fullmatch(r"0\d{8,9}", digits):
            raise clerk_error(
                "phone_format",
                "The phone number must be a Thai number of 9 or 10 digits starting with 0.",
                "หมายเลขโทรศัพท์ต้องเป็นเบอร์ไทย 9 หรือ 10 หลัก ขึ้นต้นด้วย 0",
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


class IntakeRequest(BaseModel):
    """One person, their needs, and their consent, as a front-line unit reports them."""

    model_config = ConfigDict(extra="forbid")
    source: SourceIn
    person: PersonIn
    needs: list[NeedIn] = Field(min_length=1, max_length=20)
    consent: ConsentIn
