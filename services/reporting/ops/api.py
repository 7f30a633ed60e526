"""The ops API and page: where referrals wait, what failed, and re-driving it.

Every answer carries counts, offsets, group and topic names, and the dead letters' keys
(referral or intake ids): never a person's data."""

from datetime import datetime
from zoneinfo import ZoneInfo

import geothai
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.ops import store
from reporting.ops.collector import OpsCollector
from reporting.ops.dead_letters import DeadLetters, RedriveRefused
from reporting.ops.groups import agency_group
from reporting.ops.page import OPS_PAGE
from reporting.summary_labels import AGENCY
from shared.agencies import AGENCIES
from shared.settings import KafkaSettings
from shared.topics import dead_letter_topic


class RedriveItem(BaseModel):
    topic: str = Field(description="The dead-letter topic, e.g. referral.assigned.skills.dlq.")
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)


class RedriveRequest(BaseModel):
    items: list[RedriveItem] = Field(min_length=1, max_length=100)
    actor: str = Field(min_length=1, max_length=64, description="Who re-drives (officer id).")
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
        agencies = []
        for agency in AGENCIES:
            group, topic = agency_group(kafka=kafka, agency=agency), kafka.topics.referral_assigned(agency)
            agencies.append({
                "agency": agency, "name_th": AGENCY[agency][0], "name_en": AGENCY[agency][1],
                "topic": topic, "consumer_group": group,
                "lag": snapshot.lag_of(group=group),
                "oldest_waiting_seconds": snapshot.oldest_waiting_seconds.get(agency, 0.0),
                "rate_per_minute": collector.per_minute(group=group),
                "arrivals_per_minute": collector.per_minute(topic=topic),
                "dead_letters": snapshot.dead_letters.get(topic, 0),
                "overdue": snapshot.overdue.get(agency, 0),
                "partitions": [{"partition": p.partition, "lag": p.lag, "committed": p.committed, "end": p.end}
                               for p in snapshot.lags if p.group == group],
            })
        agency_groups = {a["consumer_group"] for a in agencies}
        others: dict[tuple[str, str], int] = {}
        for p in snapshot.lags:
            if p.group not in agency_groups:
                others[(p.group, p.topic)] = others.get((p.group, p.topic), 0) + p.lag
        return JSONResponse({
            "as_of": snapshot.taken_at.isoformat(),
            "scan_seconds": collector.interval_seconds,
            "scan_error": collector.last_error,
            "agencies": agencies,
            "groups": [{"consumer_group": g, "topic": t, "lag": lag} for (g, t), lag in sorted(others.items())],
            "dead_letters": [{"topic": t, "dlq_topic": dead_letter_topic(t), "waiting": n}
                             for t, n in sorted(snapshot.dead_letters.items())],
        })

    @router.get("/v1/ops/dlq", summary="Dead letters with where they came from and why (no payloads)")
    async def list_dead_letters(
        page: int = Query(1, ge=1),
        page_size: int = Query(50, ge=1, le=200),
        topic: str | None = Query(None, description="Only those of this original topic."),
    ) -> JSONResponse:
        found = await dead_letters.page(page=page, page_size=page_size, original_topic=topic)
        return JSONResponse({"page": page, "page_size": page_size, "total": found.total, "items": found.items})

    @router.post("/v1/ops/dlq/redrive", summary="Send chosen dead letters back to their original topic")
    async def redrive(request: RedriveRequest) -> JSONResponse:
        positions = [(item.topic, item.partition, item.offset) for item in request.items]
        try:
            sent = await dead_letters.redrive(positions=positions, actor=request.actor, reason=request.reason)
        except RedriveRefused as refused:
            items = [{"topic": t, "partition": p, "offset": o} for t, p, o in refused.positions]
            return JSONResponse({"detail": refused.message, "items": items}, status_code=refused.status)
        return JSONResponse({"redriven": sent, "actor": request.actor})

    @router.get("/v1/ops/today", summary="Today's intakes by province (Asia/Bangkok date)")
    async def today() -> JSONResponse:
        day = datetime.now(zone).date()
        async with sessions() as session:
            counts = await store.intakes_by_province(session, day=day, zone=zone)
        provinces = []
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            found = geothai.province(code)
            provinces.append({"province": code, "name_th": found.name_th if found else None,
                              "name_en": found.name_en if found else None, "intakes": count})
        return JSONResponse({"date": day.isoformat(), "timezone": zone.key, "total": sum(counts.values()),
                             "provinces": provinces})

    @router.get("/ops", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(OPS_PAGE)

    return router
