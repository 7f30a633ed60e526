"""HTTP side of the agency-system links: the signed callback through which an agency's system
moves its referrals, and the staff's and operators' view and re-drive of deliveries."""

import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agency_adapters import scope, workflow
from agency_adapters.api import StatusMove, allowed
from agency_adapters.lifecycle import Move
from agency_adapters.webhooks import store
from agency_adapters.webhooks.config import WebhookTarget
from agency_adapters.webhooks.dispatcher import WebhookDispatcher, callback_url
from agency_adapters.webhooks.models import WebhookDelivery
from agency_adapters.workflow import Workbench
from shared.agencies import Agency
from shared.auth import Principal, caller
from shared.delivery.signing import NONCE_HEADER, SIGNATURE_HEADER, nonce_expiry, signature_problem, signed_at


class Redrive(BaseModel):
    """Who re-drives is not in the body: it is the token's subject."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    referral_ids: list[str] | None = Field(default=None, max_length=10_000, description="None: every parked delivery.")
    reason: str = Field(min_length=5, max_length=500, description="What was fixed.")


class SystemMove(StatusMove):
    """A move as an agency's system reports it. The system is proven by its signature, not by a
    token; `actor` is the system's own user, recorded after the system's name
    ('skills-system:<actor>'), so it can never pass for a Songtor user."""

    actor: str | None = Field(default=None, min_length=1, max_length=40, description="Your system's user who made the move.")


# The callback reads its raw body (the signature covers the exact bytes), so its OpenAPI operation
# is spelt out here: no bearer token (it is proven by the HMAC signature and nonce, policy
# signed_callback), the two signature headers, the body, and the answers.
CALLBACK_OPENAPI = {
    "security": [],
    "parameters": [
        {"name": SIGNATURE_HEADER, "in": "header", "required": True, "schema": {"type": "string"},
         "description": "t=<unix seconds>,v2=<hex HMAC-SHA256 of '<t>\\n<nonce>\\n<METHOD>\\n<path>\\n' + raw body>"},
        {"name": NONCE_HEADER, "in": "header", "required": True,
         "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,128}$"},
         "description": "New for every callback; a nonce seen before is refused (401)."},
    ],
    "requestBody": {"required": True, "content": {"application/json": {"schema": SystemMove.model_json_schema()}}},
    "responses": {
        "401": {"description": "Signature missing, wrong, stale, or its nonce already used"},
        "403": {"description": "A move that is the provincial office's (cancelled, transferred)"},
        "404": {"description": "Not a referral of this agency, or the agency has no system link"},
        "409": {"description": "The lifecycle does not allow this move now (allowed_moves says which do)"},
    },
}


def delivery_view(delivery: WebhookDelivery) -> dict:
    """A delivery's state, never the person's data: operations read it too."""
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


async def callback_problem(request: Request, *, bench: Workbench, target: WebhookTarget, agency: str, url: str) -> str | None:
    """Why a signed request of an agency's system is not authentic, or None: signed with the
    agency's secret over this very request (method, path, so this referral) within the window,
    with a nonce not seen before."""
    # The path signed is the one of the URL we gave the agency, whatever proxy is in between.
    path = urlsplit(url).path
    header, nonce, now = request.headers.get(SIGNATURE_HEADER), request.headers.get(NONCE_HEADER), time.time()
    problem = signature_problem(header=header, nonce=nonce, method=request.method, path=path,
                                secret=target.secret.get_secret_value(), body=await request.body(), now=now)
    if problem or header is None or nonce is None:
        return problem
    async with bench.sessions() as session:
        fresh = await store.claim_nonce(
            session, agency=agency, nonce=nonce, now=datetime.fromtimestamp(now, UTC),
            expires_at=datetime.fromtimestamp(nonce_expiry(timestamp=signed_at(header)), UTC))
    return None if fresh else f"nonce already used; sign every callback with a new {NONCE_HEADER}"


def agency_systems_router(
    *, bench: Workbench, targets: dict[str, WebhookTarget], dispatcher: WebhookDispatcher, public_url: str,
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["agency systems"])

    def target_of(agency: str) -> WebhookTarget:
        if agency not in targets:
            raise HTTPException(status_code=404, detail=f"Agency '{agency}' has no system link; it uses the workbench.")
        return targets[agency]

    @router.post(
        "/agency-systems/{agency}/referrals/{referral_id}/status",
        summary="Callback: an agency's system moves one of its referrals (signed with the agency's secret)",
        openapi_extra=CALLBACK_OPENAPI,
    )
    async def system_moves_referral(agency: Agency, referral_id: str, request: Request) -> JSONResponse:
        problem = await callback_problem(request, bench=bench, target=target_of(agency), agency=agency,
                                         url=callback_url(public_url=public_url, agency=agency, referral_id=referral_id))
        if problem:
            return JSONResponse(status_code=401, content={"detail": f"Signature refused: {problem}"})
        try:
            body = SystemMove.model_validate_json(await request.body())
        except ValidationError as error:
            return JSONResponse(status_code=422, content={"detail": "The move is not valid.", "errors": _clerk_errors(error)})
        actor = f"{agency}-system" if body.actor is None else f"{agency}-system:{body.actor}"
        answer = await workflow.move_referral(
            bench, referral_id=referral_id, move=Move(**{**body.model_dump(), "actor": actor}),
            # Another agency's referral answers as absent: an agency learns nothing of others.
            gate=lambda referral: scope.system_move_refusal(system_agency=agency, agency=referral.agency,
                                                            status=body.status),
        )
        return JSONResponse(status_code=answer.status_code, content=answer.body)

    @router.get("/agencies/{agency}/webhook", summary="The agency's system link: circuit and deliveries by state",
                responses={404: {"description": "The agency has no system link"}})
    async def link_status(agency: Agency, principal: Principal = Depends(caller)) -> dict:
        provinces = allowed(scope.webhook_scope(principal, agency=agency))
        target = target_of(agency)
        breaker = dispatcher.breakers.get(agency)
        async with bench.sessions() as session:
            counts = await store.counts_by_state(session, agency=agency, provinces=provinces)
        return {
            "agency": agency,
            # None: the agency's system reads its referrals from Kafka and only calls back.
            "url": str(target.url) if target.url else None,
            # Circuits live in the process that sends; another process answers None.
            "circuit": None if breaker is None else {
                "state": breaker.state, "consecutive_failures": breaker.consecutive_failures,
                "seconds_until_trial": round(breaker.seconds_until_trial(now=time.monotonic()), 1)},
            "deliveries": counts,
            "max_attempts": target.max_attempts,
        }

    @router.get("/agencies/{agency}/webhook/deliveries", summary="Deliveries to the agency's system, e.g. the parked ones",
                responses={404: {"description": "The agency has no system link"}})
    async def deliveries(
        agency: Agency,
        state: str | None = Query(default=None, pattern="^(pending|delivered|parked)$"),
        limit: int = Query(default=100, ge=1, le=1000),
        offset: int = Query(default=0, ge=0),
        principal: Principal = Depends(caller),
    ) -> dict:
        provinces = allowed(scope.webhook_scope(principal, agency=agency))
        target_of(agency)
        async with bench.sessions() as session:
            rows = await store.list_deliveries(session, agency=agency, provinces=provinces, state=state,
                                               limit=limit, offset=offset)
        return {"agency": agency, "state": state, "deliveries": [delivery_view(d) for d in rows]}

    @router.post("/agencies/{agency}/webhook/redrive", summary="Send parked deliveries again, after the cause is fixed",
                 responses={403: {"description": "Not the head of this agency"},
                            404: {"description": "The agency has no system link"},
                            409: {"description": "None of the deliveries named is parked (in the caller's provinces)"}})
    async def redrive(agency: Agency, body: Redrive, principal: Principal = Depends(caller)) -> JSONResponse:
        provinces = allowed(scope.webhook_scope(principal, agency=agency, change=True))
        target_of(agency)
        async with bench.sessions() as session:
            done = await store.redrive_parked(session, agency=agency, provinces=provinces, referral_ids=body.referral_ids,
                                              actor=principal.subject, reason=body.reason, at=datetime.now(UTC))
        not_parked = sorted(set(body.referral_ids or ()) - set(done))
        status = 409 if body.referral_ids and not done else 200
        return JSONResponse(status_code=status, content={
            "agency": agency, "redriven": sorted(done), "not_parked": not_parked,
            "detail": f"{len(done)} parked deliveries will be sent again"
            + (f"; {len(not_parked)} were not parked and were left alone" if not_parked else ""),
        })

    return router
