"""The signed read of an agency's own system: the person of a referral it took from Kafka.

On `referral.assigned.<agency>` the person travels sealed with their own key, which no agency
system holds (so an erasure reaches the log). A system that reads its referrals from Kafka asks
here for the person, signed with the agency's secret like its callbacks; each answer is in the
audit log under `<agency>-system`, like a person's read of the queue.
"""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from agency_adapters import repository
from agency_adapters.views import agency_view
from agency_adapters.webhooks.api import CALLBACK_OPENAPI, callback_problem
from agency_adapters.webhooks.config import WebhookTarget
from agency_adapters.workflow import Workbench
from shared.agencies import Agency
from shared.auth import Principal
from shared.auth.audit import note_people
from shared.privacy import identities_of

SIGNED_READ_OPENAPI = {
    "security": [],
    "parameters": CALLBACK_OPENAPI["parameters"],
    "responses": {
        "200": {"description": "The referral as the workbench shows it, with the person (opened for this answer; "
                "`person.erased` true, without name, ID or phone, when the person was erased)"},
        "401": {"description": "Signature missing, wrong, stale, or its nonce already used (sign the empty body)"},
        "404": {"description": "Not a referral of this agency, or the agency has no system link"},
    },
}


def referral_url(*, public_url: str, agency: str, referral_id: str) -> str:
    return f"{public_url.rstrip('/')}/v1/agency-systems/{agency}/referrals/{referral_id}"


def agency_system_reads_router(*, bench: Workbench, targets: dict[str, WebhookTarget], public_url: str) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["agency systems"])

    @router.get(
        "/agency-systems/{agency}/referrals/{referral_id}",
        summary="An agency's system reads one of its referrals with the person (signed with the agency's secret)",
        openapi_extra=SIGNED_READ_OPENAPI,
    )
    async def system_reads_referral(agency: Agency, referral_id: str, request: Request) -> JSONResponse:
        if agency not in targets:
            return JSONResponse(status_code=404, content={"detail": f"Agency '{agency}' has no system link."})
        problem = await callback_problem(request, bench=bench, target=targets[agency], agency=agency,
                                         url=referral_url(public_url=public_url, agency=agency, referral_id=referral_id))
        if problem:
            return JSONResponse(status_code=401, content={"detail": f"Signature refused: {problem}"})
        async with bench.sessions() as session:
            referral = await repository.get_referral(session, referral_id=referral_id)
            if referral is None or referral.agency != agency:  # another agency's answers as absent
                return JSONResponse(status_code=404, content={"detail": f"No referral {referral_id} of {agency}."})
            identities = await identities_of(session, wrapper=bench.master_keys, person_refs=[referral.person_ref])
        # The audit log names the system as the reader, as a token's subject names a person.
        request.state.principal = Principal(subject=f"{agency}-system", username=f"{agency}-system")
        note_people(request, person_refs=[referral.person_ref])
        return JSONResponse(content=agency_view(referral, identities=identities))

    return router
