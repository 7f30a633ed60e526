"""Routing's HTTP routes: why a referral went where it went, and triage of unroutable needs."""

import json
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from routing import repository, scope
from routing.domain import PRODUCER, announcements, assignment_event, manual_decision
from routing.models import RoutingDecision
from shared import ids
from shared.agencies import Agency, Category
from shared.auth import Principal, caller, out_of_scope
from shared.catalog import NeedCatalog
from shared.contracts import AgencyPerson, Sealed
from shared.db import OutboxRelay, add_to_outbox
from shared.sensitive_words import REASON, drug_programme_words, quoted
from shared.topics import Topics


class TriageRoute(BaseModel):
    """Who routes it is not in the body: it is the token's subject."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    agency: Agency
    reason: str = Field(min_length=5, max_length=1000, description="Why this agency; kept in the history.")
    category: Category | None = Field(
        default=None, description="Report category; required when the need code is not in the catalog."
    )

    @field_validator("reason")
    @classmethod
    def _tells_no_programme(cls, value: str) -> str:
        # The reason is in the explanation the agency's staff read (GET /v1/referrals/{id}/routing).
        if words := drug_programme_words(value):
            raise ValueError(f"the agency's staff read this reason, and {REASON.format(words=quoted(words))}")
        return value


def explanation_of(row: RoutingDecision) -> dict:
    return {
        "referral_id": row.referral_id,
        "intake_id": row.intake_id,
        "need_code": row.need_code,
        "province_code": row.province_code,
        "state": row.state,
        "agency": row.agency,
        "category": row.category,
        "rule": row.rule,
        "explanation": row.explanation,
        "catalog_version": row.catalog_version,
        "decided_at": row.decided_at.isoformat(),
        "decided_by": row.decided_by,
        "history": json.loads(row.history_json),
    }


def routing_router(
    *, sessions: async_sessionmaker[AsyncSession], relay: OutboxRelay, topics: Topics, catalog: NeedCatalog
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["routing"])

    @router.get("/referrals/{referral_id}/routing", summary="Why this referral went to its agency")
    async def explain(referral_id: str, principal: Principal = Depends(caller)) -> dict:
        async with sessions() as session:
            row = await repository.get_decision(session, referral_id=referral_id)
        if row is None or not scope.sees_decision(principal, agency=row.agency, province=row.province_code):
            raise out_of_scope(f"routing decision for referral {referral_id}")
        return explanation_of(row)

    @router.get("/unroutable", summary="Needs no routing rule matched in the caller's provinces, oldest first")
    async def unroutable(
        limit: int = Query(default=100, ge=1, le=1000),
        offset: int = Query(default=0, ge=0),
        principal: Principal = Depends(caller),
    ) -> dict:
        async with sessions() as session:
            rows = await repository.list_unroutable(
                session, provinces=scope.unroutable_provinces(principal), limit=limit, offset=offset
            )
        return {"unroutable": [explanation_of(row) for row in rows]}

    @router.post("/unroutable/{referral_id}/route", summary="Send an unroutable need to an agency, with a reason",
                 responses={409: {"description": "The need is no longer unroutable (routed, or triaged already), or "
                                             "the person was erased"}})
    async def route_by_hand(referral_id: str, triage: TriageRoute, principal: Principal = Depends(caller)) -> dict:
        now, actor = datetime.now(UTC), principal.subject
        async with sessions() as session:
            row = await repository.get_decision(session, referral_id=referral_id, lock=True)
            if row is None or not scope.triages(principal, province=row.province_code):
                raise out_of_scope(f"routing decision for referral {referral_id}")
            if row.state != "unroutable":
                raise HTTPException(
                    status_code=409,
                    detail=f"This need is already {row.state} (to {row.agency}); only unroutable needs are triaged.",
                )
            if row.person_json is None:  # erased while it waited: there is no one to send
                raise HTTPException(status_code=409, detail="The person's data was erased at their request; this need "
                                    "cannot be sent to an agency. Take a new intake if the person asks again.")
            definition = catalog.get(row.need_code)
            category = triage.category or (definition.category if definition else None)
            if category is None:
                raise HTTPException(
                    status_code=422,
                    detail=f"category: need '{row.need_code}' is not in the catalog; say which report "
                    "category it counts under (promote, protect, develop).",
                )
            decision = manual_decision(agency=triage.agency, category=category, actor=actor, reason=triage.reason)
            event = assignment_event(
                referral_id=row.referral_id, intake_id=row.intake_id, need_code=row.need_code,
                need_note=Sealed.model_validate_json(row.need_note) if row.need_note else None, decision=decision,
                person=AgencyPerson.model_validate_json(row.person_json),
                person_ref=row.person_ref, catalog_version=catalog.version,
                event_id=ids.derived_event_id(source_id=row.referral_id, purpose="assigned/triage"),
                envelope={"occurred_at": now, "correlation_id": row.intake_id, "producer": PRODUCER},
            )
            repository.record_triage(session, row=row, decision=decision, actor=actor, reason=triage.reason, at=now)
            for topic, announced in announcements(event, topics=topics):
                add_to_outbox(session, topic=topic, key=row.referral_id, event=announced)
            await session.commit()
            answer = explanation_of(row)
        relay.wake()  # the relay loop publishes it; the triage is durable in the outbox already
        return answer

    return router
