"""HTTP side of the agency-system links: the authenticated callback through which an agency's
system moves its referrals, and the operator's view and re-drive of deliveries."""

import time
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agency_adapters import repository, workflow
from agency_adapters.api import StatusMove
from agency_adapters.lifecycle import Move
from agency_adapters.webhooks import store
from agency_adapters.webhooks.config import WebhookTarget
from agency_adapters.webhooks.dispatcher import WebhookDispatcher
from agency_adapters.webhooks.models import WebhookDelivery
from agency_adapters.webhooks.signing import SIGNATURE_HEADER, signature_problem
from agency_adapters.workflow import Workbench
from shared.agencies import Agency


class Redrive(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    referral_ids: list[str] | None = Field(default=None, max_length=10_000, description="None: every parked delivery.")
    actor: str = Field(min_length=1, max_length=64, description="Who re-drives, for the record.")
    reason: str = Field(min_length=5, max_length=500, description="What was fixed.")


def delivery_view(delivery: WebhookDelivery) -> dict:
    return {
        "referral_id": delivery.referral_id,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at.isoformat() if delivery.state == "pending" else None,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "delivered_at": delivery.delivered_at.isoformat() if delivery.delivered_at else None,
        "parked_at": delivery.parked_at.isoformat() if delivery.parked_at else None,
        "redrive_count": delivery.redrive_count,
        "last_redrive_by": delivery.last_redrive_by,
        "last_redrive_reason": delivery.last_redrive_reason,
    }


def _clerk_errors(error: ValidationError) -> list[dict]:
    return [{"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in error.errors()]


def agency_systems_router(*, bench: Workbench, targets: dict[str, WebhookTarget], dispatcher: WebhookDispatcher) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["agency systems"])

    def target_of(agency: str) -> WebhookTarget:
        if agency not in targets:
            raise HTTPException(status_code=404, detail=f"Agency '{agency}' has no system link; it uses the workbench.")
        return targets[agency]

    @router.post(
        "/agency-systems/{agency}/referrals/{referral_id}/status",
        summary="Callback: an agency's system moves one of its referrals (signed with the agency's secret)",
    )
    async def system_moves_referral(agency: Agency, referral_id: str, request: Request) -> JSONResponse:
        target = target_of(agency)
        raw = await request.body()
        problem = signature_problem(header=request.headers.get(SIGNATURE_HEADER), secret=target.secret.get_secret_value(),
                                    body=raw, now=time.time())
        if problem:
            return JSONResponse(status_code=401, content={"detail": f"Signature refused: {problem}"})
        try:
            body = StatusMove.model_validate_json(raw)
        except ValidationError as error:
            return JSONResponse(status_code=422, content={"detail": "The move is not valid.", "errors": _clerk_errors(error)})
        async with bench.sessions() as session:
            referral = await repository.get_referral(session, referral_id=referral_id)
        if referral is None or referral.agency != agency:
            # Same answer for "absent" and "another agency's": an agency learns nothing of others.
            return JSONResponse(status_code=404, content={"detail": f"No referral {referral_id} for {agency}"})
        actor = f"{agency}-system" if "actor" not in body.model_fields_set else f"{agency}-system:{body.actor}"
        move = Move(**{**body.model_dump(), "actor": actor})
        answer = await workflow.move_referral(bench, referral_id=referral_id, move=move)
        return JSONResponse(status_code=answer.status_code, content=answer.body)

    @router.get("/agencies/{agency}/webhook", summary="The agency's system link: circuit and deliveries by state")
    async def link_status(agency: Agency) -> dict:
        target = target_of(agency)
        breaker = dispatcher.breakers.get(agency)
        async with bench.sessions() as session:
            counts = await store.counts_by_state(session, agency=agency)
        return {
            "agency": agency,
            "url": str(target.url),
            # Circuits live in the process that sends; another process answers None.
            "circuit": None if breaker is None else {
                "state": breaker.state, "consecutive_failures": breaker.consecutive_failures,
                "seconds_until_trial": round(breaker.seconds_until_trial(now=time.monotonic()), 1)},
            "deliveries": counts,
            "max_attempts": target.max_attempts,
        }

    @router.get("/agencies/{agency}/webhook/deliveries", summary="Deliveries to the agency's system, e.g. the parked ones")
    async def deliveries(
        agency: Agency,
        state: str | None = Query(default=None, pattern="^(pending|delivered|parked)$"),
        limit: int = Query(default=100, ge=1, le=1000),
        offset: int = Query(default=0, ge=0),
    ) -> dict:
        target_of(agency)
        async with bench.sessions() as session:
            rows = await store.list_deliveries(session, agency=agency, state=state, limit=limit, offset=offset)
        return {"agency": agency, "state": state, "deliveries": [delivery_view(d) for d in rows]}

    @router.post("/agencies/{agency}/webhook/redrive", summary="Send parked deliveries again, after the cause is fixed")
    async def redrive(agency: Agency, body: Redrive) -> JSONResponse:
        target_of(agency)
        async with bench.sessions() as session:
            done = await store.redrive_parked(session, agency=agency, referral_ids=body.referral_ids,
                                              actor=body.actor, reason=body.reason, at=datetime.now(UTC))
        not_parked = sorted(set(body.referral_ids or ()) - set(done))
        status = 409 if body.referral_ids and not done else 200
        return JSONResponse(status_code=status, content={
            "agency": agency, "redriven": sorted(done), "not_parked": not_parked,
            "detail": f"{len(done)} parked deliveries will be sent again"
            + (f"; {len(not_parked)} were not parked and were left alone" if not_parked else ""),
        })

    return router
