"""The agencies' workbench API: list an agency's queue, move a referral through its lifecycle.
Who may do what on which referral is agency_adapters.scope; the routes apply it."""

from typing import Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from agency_adapters import repository, scope, workflow
from agency_adapters.lifecycle import Move
from agency_adapters.scope import Refusal
from agency_adapters.views import agency_view, move_view
from agency_adapters.workflow import Workbench
from shared.agencies import Agency
from shared.auth import Principal, caller, out_of_scope
from shared.privacy import identities_of
from shared.auth.audit import note_people
from shared.sensitive_words import REASON, drug_programme_words, quoted

T = TypeVar("T")
MOVE_RESPONSES = {
    403: {"description": "A move that is not the caller's: cancelled and transferred are the provincial office's, "
          "the others the agency's officers'; the detail says who may"},
    409: {"description": "The lifecycle does not allow this move now (allowed_moves says which do), or someone "
          "moved the referral meanwhile"},
}


class StatusMove(BaseModel):
    """A move as the workbench asks for it. Who made it is not in the body: it is the token's subject."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    status: Literal["accepted", "in_progress", "completed", "declined", "unreachable", "transferred", "cancelled"] = Field(
        description="cancelled and transferred are the provincial office's; the others the agency's officers'."
    )
    outcome_code: str | None = Field(default=None, max_length=64, description="Required to complete.")
    details: dict[str, str | float | int] = Field(default_factory=dict, description="What the outcome requires.")
    reason_code: str | None = Field(default=None, max_length=64, description="Required to decline.")
    reason: str | None = Field(default=None, max_length=2000, description="Required to transfer or cancel.")
    to_agency: Agency | None = Field(default=None, description="Required to transfer.")
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _office_tells_no_programme(self) -> "StatusMove":
        # Cancelling and transferring are the provincial office's, which knows the source programme;
        # its reason and note are in the referral's history, which the agency reads.
        if self.status in ("cancelled", "transferred"):
            for name, text in (("reason", self.reason), ("note", self.note)):
                if words := drug_programme_words(text):
                    raise ValueError(f"{name}: the agency reads it in the history, and {REASON.format(words=quoted(words))}")
        return self


def allowed(decision: T | Refusal) -> T:
    """A scope decision's value, or its refusal as the HTTP answer."""
    if isinstance(decision, Refusal):
        raise HTTPException(status_code=decision.status_code, detail=decision.detail)
    return decision


def workbench_router(*, bench: Workbench) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["agency workbench"])
    sessions = bench.sessions

    @router.get("/agencies/{agency}/referrals", summary="An agency's referrals in the caller's provinces, oldest first",
                responses={403: {"description": "Another agency's queue: its own staff and the provincial office see it"}})
    async def list_queue(
        request: Request,
        agency: Agency,
        status: str | None = Query(default=None, description="Filter by status, e.g. received"),
        limit: int = Query(default=100, ge=1, le=1000),
        offset: int = Query(default=0, ge=0),
        principal: Principal = Depends(caller),
    ) -> dict:
        provinces = allowed(scope.queue_scope(principal, agency=agency))
        async with sessions() as session:
            rows = await repository.list_referrals(
                session, agency=agency, provinces=provinces, status=status, limit=limit, offset=offset
            )
            identities = await identities_of(session, wrapper=bench.master_keys, person_refs={r.person_ref for r in rows})
        note_people(request, person_refs=[r.person_ref for r in rows])  # names and IDs: the audit log says whose
        return {"agency": agency, "status": status,
                "referrals": [agency_view(r, identities=identities) for r in rows]}

    @router.get("/agencies/{agency}/referrals/{referral_id}",
                summary="One referral of an agency, with the person (what an agency's own system reads after "
                        "taking the referral from Kafka, where the person travels sealed)",
                responses={403: {"description": "Another agency's referral"},
                           404: {"description": "No such referral of this agency in the caller's provinces"}})
    async def show_referral(request: Request, agency: Agency, referral_id: str,
                            principal: Principal = Depends(caller)) -> dict:
        provinces = allowed(scope.queue_scope(principal, agency=agency))
        async with sessions() as session:
            referral = await repository.get_referral(session, referral_id=referral_id)
            # Another agency's referral or one outside the caller's provinces answers as missing.
            if referral is None or referral.agency != agency or referral.province_code not in provinces:
                raise out_of_scope(f"referral with id {referral_id}")
            identities = await identities_of(session, wrapper=bench.master_keys, person_refs=[referral.person_ref])
        note_people(request, person_refs=[referral.person_ref])  # a name and an ID: the audit log says whose
        return agency_view(referral, identities=identities)

    @router.post("/referrals/{referral_id}/status", summary="Move a referral through its lifecycle",
                 responses=MOVE_RESPONSES)
    async def move_referral(referral_id: str, body: StatusMove, principal: Principal = Depends(caller)) -> JSONResponse:
        answer = await workflow.move_referral(
            bench, referral_id=referral_id, move=Move(**body.model_dump(), actor=principal.subject),
            gate=lambda referral: scope.move_refusal(
                principal, agency=referral.agency, province=referral.province_code, status=body.status),
        )
        return JSONResponse(status_code=answer.status_code, content=answer.body)

    @router.get("/referrals/{referral_id}/history", summary="Every move of a referral, in order")
    async def referral_history(request: Request, referral_id: str, principal: Principal = Depends(caller)) -> dict:
        async with sessions() as session:
            referral = await repository.get_referral(session, referral_id=referral_id)
            if referral is None or not scope.sees_referral(
                principal, agency=referral.agency, province=referral.province_code
            ):
                raise out_of_scope(f"referral with id {referral_id}")
            moves = await repository.history(session, referral_id=referral_id)
            identities = await identities_of(session, wrapper=bench.master_keys, person_refs=[referral.person_ref])
        # Staff's reasons and notes may name the person: the audit log says whose words were read.
        note_people(request, person_refs=[referral.person_ref])
        return {"referral_id": referral_id, "moves": [
            move_view(m, person_ref=referral.person_ref, identities=identities) for m in moves]}

    @router.get("/agencies/{agency}/outcomes", summary="Outcome codes this agency completes referrals with")
    async def agency_outcomes(agency: Agency) -> dict:
        return {
            "agency": agency,
            "outcomes": [o.model_dump(exclude={"agency"}) for o in bench.outcomes.for_agency(agency)],
            "decline_reasons": [r.model_dump() for r in bench.outcomes.decline_reasons.values()],
        }

    return router
