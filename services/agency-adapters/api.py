"""The agencies' workbench API: list an agency's queue, move a referral through its lifecycle."""

import json
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agency_adapters import lifecycle, repository
from agency_adapters.models import AgencyReferral
from shared.agencies import Agency
from shared.db import OutboxRelay, add_to_outbox
from shared.topics import Topics


class StatusMove(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    status: Literal["accepted", "completed", "declined"]
    outcome_code: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=2000)
    actor: str = Field(default="workbench", min_length=1, max_length=64)


def agency_view(referral: AgencyReferral) -> dict:
    return {
        "referral_id": referral.referral_id,
        "agency": referral.agency,
        "need_code": referral.need_code,
        "need_note": referral.need_note,
        "category": referral.category,
        "person": json.loads(referral.person_json),
        "status": referral.status,
        "version": referral.version,
        "outcome_code": referral.outcome_code,
        "note": referral.note,
        "assigned_at": referral.assigned_at.isoformat(),
        "updated_at": referral.updated_at.isoformat(),
    }


def workbench_router(
    *, sessions: async_sessionmaker[AsyncSession], relay: OutboxRelay, topics: Topics
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["agency workbench"])

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

    @router.post("/referrals/{referral_id}/status", summary="Move a referral (accept, complete, decline)")
    async def move_referral(referral_id: str, move: StatusMove) -> JSONResponse:
        now = datetime.now(UTC)
        async with sessions() as session:
            referral = await repository.get_referral(session, referral_id=referral_id)
            if referral is None:
                raise HTTPException(status_code=404, detail=f"No referral with id {referral_id}")
            if refused := lifecycle.check_move(current=referral.status, requested=move.status):
                return JSONResponse(
                    status_code=409,
                    content={
                        "detail": refused.reason,
                        "current_status": refused.current,
                        "allowed_moves": list(refused.allowed),
                    },
                )
            previous, version = referral.status, referral.version + 1
            moved = await repository.apply_move(
                session, referral=referral, status=move.status,
                outcome_code=move.outcome_code, note=move.note, moved_at=now,
            )
            if not moved:
                raise HTTPException(status_code=409, detail="The referral was moved by someone else; reload it.")
            event = lifecycle.updated_event(
                referral_id=referral_id, intake_id=referral.intake_id, agency=referral.agency,
                status=move.status, previous_status=previous, version=version, actor=move.actor,
                occurred_at=now, outcome_code=move.outcome_code, note=move.note,
            )
            add_to_outbox(session, topic=topics.referral_updated, key=referral_id, event=event)
            await session.commit()
        try:
            await relay.flush()
        except Exception:  # noqa: BLE001 - committed in the outbox; the relay loop retries
            pass
        async with sessions() as session:
            updated = await repository.get_referral(session, referral_id=referral_id)
        return JSONResponse(status_code=200, content=agency_view(updated))

    return router
