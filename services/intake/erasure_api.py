"""The erasure routes: a provincial office asks for a person's data to be erased, and follows each
service's confirmation. The national ID travels in the body only (never in a URL or a log), is
hashed to the person_ref at once and is neither stored nor logged."""

import json
from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from intake import erasure
from intake.submission import IntakeDesk
from shared import ids
from shared.auth import Principal, caller, out_of_scope
from shared.auth.principal import Role


class ErasureAsked(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    national_id: str = Field(pattern=r"^[0-9]{13}$", description="The person's 13-digit ID; only its keyed hash is kept.")
    reason: str = Field(min_length=5, max_length=1000, description="Why: e.g. the person's request under PDPA s.33, "
                        "with its reference. Kept with the request: never the person's name or ID.")


def erasure_router(*, desk: IntakeDesk, compaction: timedelta) -> APIRouter:
    """`compaction`: person.keys' segment time (KAFKA_PERSON_KEYS_COMPACTION_SECONDS)."""
    router = APIRouter(prefix="/v1", tags=["erasure"])

    @router.post("/erasures", status_code=202,
                 summary="Erase a person's data in every service (PDPA s.33); each service confirms on its own",
                 responses={404: {"description": "No intake of this person in the caller's provinces"}})
    async def ask_erasure(body: ErasureAsked, request: Request, principal: Principal = Depends(caller)) -> JSONResponse:
        person_ref = ids.person_ref(national_id=body.national_id, key=desk.person_ref_key)
        async with desk.sessions() as session:
            provinces = await erasure.provinces_of(session, person_ref=person_ref)
            # An office erases the people its provinces took in; whom it did not take in does not
            # exist for it (404, as for a record outside its places).
            if not set(provinces) & principal.provinces:
                raise out_of_scope("person with this national ID in your provinces")
            erased = await erasure.erase(session, person_ref=person_ref, national_id=body.national_id,
                                         reason=body.reason, actor=principal.subject, topics=desk.topics,
                                         provinces=provinces)
            await session.commit()
        async with desk.sessions() as session:
            await erasure.nudge_compaction(session, topics=desk.topics, person_ref=person_ref,
                                           erasure_id=erased.erasure_id, after=compaction + timedelta(seconds=2))
            await session.commit()
        desk.relay.wake()
        return JSONResponse(status_code=202, content={
            "erasure_id": erased.erasure_id, "status_url": f"/v1/erasures/{erased.erasure_id}",
            "services": list(erasure.SERVICES)})

    @router.get("/erasures/{erasure_id}", summary="An erasure and each service's confirmation",
                responses={404: {"description": "No such erasure, or one outside the caller's provinces"}})
    async def show_erasure(erasure_id: str, principal: Principal = Depends(caller)) -> dict:
        async with desk.sessions() as session:
            found = await erasure.status_of(session, erasure_id=erasure_id)
        if found is None:
            raise out_of_scope(f"erasure {erasure_id}")
        asked, services = found
        provinces = json.loads(asked.provinces_json)
        # National and the auditor (who checks that erasures were done) are tied to no place.
        if not (principal.everywhere or principal.has(Role.AUDITOR) or any(principal.covers_province(p) for p in provinces)):
            raise out_of_scope(f"erasure {erasure_id}")
        return {
            "erasure_id": asked.erasure_id, "requested_at": asked.requested_at.isoformat(),
            "requested_by": asked.requested_by, "reason": asked.reason, "provinces": provinces,
            "services": services, "complete": all(services.values()),
        }

    return router
