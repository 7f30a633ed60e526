"""The routes that withdraw a person's consent to the national drug-rehabilitation system (บสต.) and
read a withdrawal back. Like an erasure, the national ID travels in the body only (never in a URL
or a log), is hashed to the person_ref at once and is neither stored nor logged."""

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from intake import consent_withdrawal
from intake.models import ConsentWithdrawal
from intake.scope import may_act_for_person, may_read_person_request
from intake.submission import IntakeDesk
from intake.thai_id import normalise_national_id
from shared import ids
from shared.auth import Principal, caller, out_of_scope
from shared.db.engine import stored_utc

PREFIX = "/v1/consents/national-system/withdrawals"


class WithdrawalAsked(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    national_id: str = Field(max_length=40, description="The person's 13-digit ID (spaces and hyphens allowed); "
                             "only its keyed hash is kept.", examples=["3640100456781"])
    reason: str = Field(min_length=5, max_length=1000, description="How the person withdrew it: e.g. in person at "
                        "the centre on a date, or the letter's reference. Kept with the withdrawal: never the "
                        "person's name or ID.", examples=["asked in person at the centre, 1 Dec 2026"])

    @field_validator("national_id")
    @classmethod
    def _thai_national_id(cls, value: str) -> str:
        # The intake's own check and spelling, so the ID however typed (spaces, hyphens) gives its person_ref.
        return normalise_national_id(value)


class WithdrawalView(BaseModel):
    """A withdrawal as recorded: never the person's ID (nor the person_ref, which the reader does not need)."""

    withdrawal_id: str
    consent: Literal["national_system"]
    withdrawn_at: AwareDatetime
    withdrawn_by: str = Field(description="Who recorded it: the token's subject.")
    reason: str

    @classmethod
    def of(cls, record: ConsentWithdrawal) -> "WithdrawalView":
        return cls(withdrawal_id=record.withdrawal_id, consent=record.scope,
                   withdrawn_at=stored_utc(record.withdrawn_at), withdrawn_by=record.withdrawn_by, reason=record.reason)


class WithdrawalRecorded(WithdrawalView):
    status_url: str = Field(description="Where to read it back.")


def consent_withdrawal_router(*, desk: IntakeDesk) -> APIRouter:
    router = APIRouter(tags=["consent"])

    @router.post(
        PREFIX, status_code=202,
        summary="Record that a person withdrew their consent to the national drug-rehabilitation system (บสต.)",
        description="From now on nothing more about the person is sent to that system: the withdrawal is "
        "published on person.consents, which the feed reads. Consent is given again only by a later intake "
        "recording consent.share_with_national_system: true (the latest of the two decides).",
        responses={404: {"description": "No intake of this person by the caller's org units or provinces"},
                   422: {"description": "Fields to correct: field, value and reason (English and Thai)"}},
    )
    async def withdraw_consent(body: WithdrawalAsked, principal: Principal = Depends(caller)) -> WithdrawalRecorded:
        person_ref = ids.person_ref(national_id=body.national_id, key=desk.person_ref_key)
        async with desk.sessions() as session:
            intakes = await consent_withdrawal.intakes_of(session, person_ref=person_ref)
            # Whom the caller did not take in does not exist for it (404, as for a record outside
            # its places): the answer must not tell whether someone was taken in elsewhere.
            if not may_act_for_person(principal, intakes=intakes):
                raise out_of_scope("person with this national ID taken in by your org units or provinces")
            record = consent_withdrawal.withdraw(
                session, person_ref=person_ref, consent=consent_withdrawal.NATIONAL_SYSTEM, reason=body.reason,
                actor=principal.subject, intakes=intakes, topics=desk.topics)
            answer = WithdrawalRecorded(**WithdrawalView.of(record).model_dump(),
                                        status_url=f"{PREFIX}/{record.withdrawal_id}")
            await session.commit()
        desk.relay.wake()
        return answer

    @router.get(
        PREFIX + "/{withdrawal_id}", summary="A withdrawal of consent to the national system, as recorded",
        responses={404: {"description": "No such withdrawal, or one of a person outside the caller's places"}},
    )
    async def show_withdrawal(withdrawal_id: str, principal: Principal = Depends(caller)) -> WithdrawalView:
        async with desk.sessions() as session:
            record = await consent_withdrawal.withdrawal_of(session, withdrawal_id=withdrawal_id,
                                                            consent=consent_withdrawal.NATIONAL_SYSTEM)
        if record is None or not may_read_person_request(principal, intakes=consent_withdrawal.places_of(record)):
            raise out_of_scope(f"withdrawal {withdrawal_id}")
        return WithdrawalView.of(record)

    return router
