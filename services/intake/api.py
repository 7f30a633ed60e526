"""HTTP routes of the intake service. Thin: validate, call the domain, store, answer."""

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from intake import repository
from intake.request import IntakeRequest
from intake.scope import Submitter, may_read_intake
from intake.group_commit import GroupCommitter
from intake.submission import IntakeDesk, Submission, fingerprint
from intake.views import intake_view
from shared.auth import Principal, caller, out_of_scope
from shared.auth.audit import note_people
from shared.privacy import identities_of


def intake_router(*, desk: IntakeDesk, committer: GroupCommitter) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["intake"])
    catalog, sessions = desk.catalog, desk.sessions

    @router.post(
        "/intakes",
        status_code=202,
        summary="Submit one person's needs for referral",
        responses={422: {"description": "Fields to correct: field, value and reason for each"},
                   403: {"description": "The token's roles may not submit intakes, or source.org_unit is not "
                         "one of the clerk's org units (errors: field, value, reason, reason_th)"},
                   409: {"description": "Idempotency-Key reused for a different intake"}},
    )
    async def submit_intake(
        request: IntakeRequest,
        http_request: Request,
        principal: Principal = Depends(caller),
        idempotency_key: str | None = Header(
            default=None, max_length=200,
            description="Any unique string per intake; a retried POST with the same key returns the first answer.",
        ),
    ) -> JSONResponse:
        submission = Submission(
            request=request,
            submitter=Submitter.of(principal),
            idempotency_key=idempotency_key,
            fingerprint=fingerprint(await http_request.body()) if idempotency_key else None,
        )
        # Answered once its transaction has committed, shared with the intakes arriving meanwhile.
        answer = await committer.submit(submission)
        return JSONResponse(status_code=answer.status_code, content=answer.body)

    @router.get(
        "/intakes/{intake_id}",
        summary="An intake and the current status of its referrals",
        responses={404: {"description": "No such intake, or one outside the caller's org units or province"}},
    )
    async def show_intake(intake_id: str, request: Request, principal: Principal = Depends(caller)) -> dict:
        async with sessions() as session:
            found = await repository.get_intake(session, intake_id=intake_id)
            # Out of scope answers exactly like an intake that does not exist.
            if found is None or not may_read_intake(principal, org_unit=found[0].org_unit,
                                                    province_code=found[0].province_code):
                raise out_of_scope(f"intake with id {intake_id}")
            identities = await identities_of(session, wrapper=desk.master_keys, person_refs=[found[0].person_ref])
        record, statuses = found
        note_people(request, person_refs=[record.person_ref])  # a name and an ID: the audit log says whose
        return intake_view(record, statuses, identities=identities)

    @router.get("/needs", summary="The need catalog: codes the intake accepts")
    async def list_needs() -> dict:
        return {
            "version": catalog.version,
            "needs": [definition.model_dump() for definition in catalog.needs.values()],
        }

    return router
