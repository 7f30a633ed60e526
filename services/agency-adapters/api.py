"""The agencies' workbench API: list an agency's queue, move a referral through its lifecycle."""

from typing import Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from agency_adapters import repository, workflow
from agency_adapters.lifecycle import Move
from agency_adapters.views import agency_view, move_view
from agency_adapters.workflow import Workbench
from shared.agencies import Agency


class StatusMove(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    status: Literal["accepted", "in_progress", "completed", "declined", "unreachable", "transferred", "cancelled"]
    outcome_code: str | None = Field(default=None, max_length=64, description="Required to complete.")
    details: dict[str, str | float | int] = Field(default_factory=dict, description="What the outcome requires.")
    reason_code: str | None = Field(default=None, max_length=64, description="Required to decline.")
    reason: str | None = Field(default=None, max_length=2000, description="Required to transfer or cancel.")
    to_agency: Agency | None = Field(default=None, description="Required to transfer.")
    note: str | None = Field(default=None, max_length=2000)
    actor: str = Field(default="workbench", min_length=1, max_length=64)


def workbench_router(*, bench: Workbench) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["agency workbench"])
    sessions = bench.sessions

    @router.get("/agencies/{agency}/referrals", summary="An agency's referrals, oldest first")
    async def list_queue(
        agency: Agency,
        status: str | None = Query(default=None, description="Filter by status, e.g. received"),
        limit: int = Query(default=100, ge=1, le=1000),
        offset: int = Query(default=0, ge=0),
    ) -> dict:
        async with sessions() as session:
            rows = await repository.list_referrals(
                session, agency=agency, status=status, limit=limit, offset=offset
            )
        return {"agency": agency, "status": status, "referrals": [agency_view(r) for r in rows]}

    @router.post("/referrals/{referral_id}/status", summary="Move a referral through its lifecycle")
    async def move_referral(referral_id: str, body: StatusMove) -> JSONResponse:
        answer = await workflow.move_referral(bench, referral_id=referral_id, move=Move(**body.model_dump()))
        return JSONResponse(status_code=answer.status_code, content=answer.body)

    @router.get("/referrals/{referral_id}/history", summary="Every move of a referral, in order")
    async def referral_history(referral_id: str) -> dict:
        async with sessions() as session:
            moves = await repository.history(session, referral_id=referral_id)
        if not moves:
            raise HTTPException(status_code=404, detail=f"No referral with id {referral_id}")
        return {"referral_id": referral_id, "moves": [move_view(m) for m in moves]}

    @router.get("/agencies/{agency}/outcomes", summary="Outcome codes this agency completes referrals with")
    async def agency_outcomes(agency: Agency) -> dict:
        return {
            "agency": agency,
            "outcomes": [o.model_dump(exclude={"agency"}) for o in bench.outcomes.for_agency(agency)],
            "decline_reasons": [r.model_dump() for r in bench.outcomes.decline_reasons.values()],
        }

    return router
