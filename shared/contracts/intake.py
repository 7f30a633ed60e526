"""intake.submitted v2: a validated intake, as the intake service accepted it, its personal fields
sealed with the person's key (v1 carried them in clear and is no longer accepted)."""

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.agencies import SourceProgram, WorkerType
from shared.contracts.envelope import EventEnvelope
from shared.contracts.sealed import Sealed

_frozen = ConfigDict(frozen=True, extra="ignore")


class Source(BaseModel):
    model_config = _frozen
    program: SourceProgram = Field(
        description="Front-line programme that found the person. Sensitive under PDPA s.26 for "
        "rehab_center and ci_center: never forwarded to agencies.",
        examples=["rehab_center"],
    )
    org_unit: str = Field(
        description="Reporting org unit (DOPA district or province code of the unit).",
        examples=["6406"],
    )
    reported_by: str = Field(description="Officer id of the reporter.", examples=["officer-0017"])


class Address(BaseModel):
    model_config = _frozen
    subdistrict_code: str = Field(description="6-digit DOPA subdistrict code.", examples=["640601"])
    district_code: str = Field(description="4-digit DOPA district code.", examples=["6406"])
    province_code: str = Field(description="2-digit DOPA province code.", examples=["64"])


class Person(BaseModel):
    """Identifying fields travel only here, sealed with the person's own key (shared/contracts/sealed.py),
    never in keys, headers, logs or metric labels. What the counts need stays readable."""

    model_config = _frozen
    identity: Sealed = Field(description="National ID, name and phone (SealedIdentity), sealed with the person's key.")
    birth_date: Sealed | None = Field(default=None, description="ISO date of birth, sealed with the person's key.")
    sex: Literal["male", "female", "other"] | None = Field(default=None, examples=["male"])
    worker_type: WorkerType = Field(description="As the monthly forms classify it.", examples=["informal"])
    address: Address


class NeedItem(BaseModel):
    model_config = _frozen
    code: str = Field(description="Need code from the need catalog.", examples=["job_registration"])
    note: Sealed | None = Field(default=None, description="Free text from the reporter (it may name people), "
                                "sealed with the person's key.")


class JoinedNeed(BaseModel):
    """A need the person already has an open referral for: it joins that referral instead of
    opening a second one."""

    model_config = _frozen
    code: str = Field(examples=["job_registration"])
    referral_id: str = Field(description="The open referral the need joined.")


class Consent(BaseModel):
    model_config = _frozen
    share_with_agencies: bool = Field(examples=[True])
    recorded_at: AwareDatetime = Field(examples=["2026-11-02T09:30:00+07:00"])
    # Added within v2 (optional, so every record before it still validates): issue 15.
    share_with_national_system: bool | None = Field(
        default=None,
        description="The person's consent to have their results sent to the national drug-rehabilitation "
        "system บสต. (ระบบรายงาน ระบบติดตามและเฝ้าระวังปัญหายาเสพติด) that the Office of the Narcotics "
        "Control Board (ONCB, สำนักงาน ป.ป.ส.) follows. Asked only of rehab_center and ci_center intakes; "
        "null when not asked (any other programme, or a clerk who did not record it), which counts as no "
        "consent: nothing about the person leaves Songtor for that system. For each person the latest answer "
        "stands: a rehab_center or ci_center intake's, as of its `recorded_at` (never later than `received_at`), "
        "or a withdrawal on person.consents, as of its `withdrawn_at`.",
        examples=[True],
    )


class IntakeSubmittedV2(EventEnvelope):
    """A person's needs, taken in and validated. Keyed by `intake_id`."""

    event_type: Literal["intake.submitted"] = "intake.submitted"
    schema_version: Literal[2] = 2
    intake_id: str = Field(description="Id the intake service gave the intake.", examples=["a2d9b3a4-6a0e-4c4e-9a57-1f2a3b4c5d6e"])
    received_at: AwareDatetime = Field(description="When the intake service accepted it (UTC).")
    person_ref: str = Field(
        description="Pseudonymous person reference: keyed hash of the national ID.",
        examples=["9f2c4e1a0b7d3e58"],
    )
    source: Source
    person: Person
    needs: tuple[NeedItem, ...] = Field(description="Needs to refer (or serve at intake).")
    joined: tuple[JoinedNeed, ...] = Field(
        default=(), description="Needs that joined the person's open referrals; routing skips them."
    )
    consent: Consent
