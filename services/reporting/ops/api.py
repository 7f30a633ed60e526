"""The ops API and page: where referrals wait, what failed, and re-driving it.

Every answer carries counts, offsets, group and topic names, and the dead letters' keys
(referral or intake ids): never a person's data."""

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.ops import store
from reporting.ops.collector import OpsCollector
from reporting.ops.dead_letters import DeadLetters, RedriveRefused
from reporting.ops.page import OPS_PAGE
from reporting.ops.views import queues_view, today_view
from shared.auth import Principal, caller
from shared.settings import KafkaSettings


class RedriveItem(BaseModel):
    topic: str = Field(description="The dead-letter topic, e.g. referral.assigned.skills.dlq.")
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)


class RedriveRequest(BaseModel):
    # Who re-drives is not asked: it is the caller's token subject.
    items: list[RedriveItem] = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=500, description="What was fixed, so the message can now pass.")


def ops_router(
    *, collector: OpsCollector, dead_letters: DeadLetters, kafka: KafkaSettings,
    sessions: async_sessionmaker[AsyncSession], zone: ZoneInfo,
) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/v1/ops/queues", summary="Per agency: lag, oldest waiting, rate, dead letters, overdue")
    async def queues() -> JSONResponse:
        snapshot = collector.latest
        if snapshot is None:
            raise HTTPException(503, detail={"message": "the first scan has not finished", "error": collector.last_error})
        return JSONResponse(queues_view(snapshot=snapshot, kafka=kafka, rates=collector.rates,
                                        scan_seconds=collector.interval_seconds, scan_error=collector.last_error))

    @router.get("/v1/ops/dlq", summary="Dead letters with where they came from and why (no payloads)")
    async def list_dead_letters(
        page: int = Query(1, ge=1),
        page_size: int = Query(50, ge=1, le=200),
        topic: str | None = Query(None, description="Only those of this original topic."),
    ) -> JSONResponse:
        found = await dead_letters.page(page=page, page_size=page_size, original_topic=topic)
        return JSONResponse({"page": page, "page_size": page_size, "total": found.total, "items": found.items})

    @router.post("/v1/ops/dlq/redrive", summary="Send chosen dead letters back to their original topic; the "
                 "caller's token subject is recorded as who re-drove them",
                 responses={404: {"description": "No such dead letter (items: the positions)"},
                            409: {"description": "Already re-driven (items: the positions)"}})
    async def redrive(request: RedriveRequest, principal: Principal = Depends(caller)) -> JSONResponse:
        positions = [(item.topic, item.partition, item.offset) for item in request.items]
        try:
            sent = await dead_letters.redrive(positions=positions, actor=principal.subject, reason=request.reason)
        except RedriveRefused as refused:
            items = [{"topic": t, "partition": p, "offset": o} for t, p, o in refused.positions]
            return JSONResponse({"detail": refused.message, "items": items}, status_code=refused.status)
        return JSONResponse({"redriven": sent, "actor": principal.subject})

    @router.get("/v1/ops/today", summary="Today's intakes by province (Asia/Bangkok date)")
    async def today() -> JSONResponse:
        day = datetime.now(zone).date()
        async with sessions() as session:
            counts = await store.intakes_by_province(session, day=day, zone=zone)
        return JSONResponse(today_view(day=day, zone=zone, counts=counts))

    @router.get("/ops", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(OPS_PAGE)

    return router
