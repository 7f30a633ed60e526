"""The national feed inside reporting: its consumers and sender when it has a target, its backlog
in the metrics, and the operators' routes (status, parked records, re-drive), answered whether
or not it is on, so that operations can always see which."""

import asyncio
import logging
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from prometheus_client import Gauge
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from reporting.national_feed import queue
from reporting.national_feed.handlers import register_feed_handlers
from reporting.national_feed.ledger import FeedRules
from reporting.national_feed.mapping import load_assistance_map
from reporting.national_feed.models import FeedRecord
from reporting.national_feed.sender import LINK, FeedSender
from reporting.settings import ReportingSettings
from shared.auth import Principal, caller
from shared.catalog.outcomes import OutcomeCatalog
from shared.db import stored_utc
from shared.delivery import store as deliveries
from shared.privacy import KeyWrapper
from shared.service import ServiceRuntime as Runtime

BACKLOG_SECONDS = 15.0  # how often the backlog gauges are refreshed
logger = logging.getLogger("songtor.reporting.national_feed")


class Redrive(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delivery_ids: list[str] | None = Field(default=None, max_length=1000,
                                           description="The parked records to send again; none: every parked one.")
    reason: str = Field(min_length=5, max_length=500, description="What was fixed.", examples=["receiver fixed its schema"])


def install_national_feed(*, runtime: Runtime, settings: ReportingSettings, outcomes: OutcomeCatalog,
                          master_keys: KeyWrapper) -> APIRouter:
    feed, sessions = settings.national_feed, runtime.sessions
    sender = None
    if feed.enabled:
        mapping = load_assistance_map(feed.map_path, outcomes=outcomes)
        register_feed_handlers(broker=runtime.broker, kafka=settings.kafka, sessions=sessions,
                               rules=FeedRules(mapping=mapping, outcomes=outcomes, joins=feed.joins))
        sender = FeedSender(sessions=sessions, target=feed.target, master_keys=master_keys, registry=runtime.registry,
                            interval_seconds=feed.scan_seconds)
        # One copy sends at a time: each record is claimed by a compare-and-set anyway, but a second
        # sender would double the load on a failing receiver, each with its own circuit breaker.
        runtime.background.append(runtime.leases.runs_alone(name="national-feed", job=sender.run))
        runtime.background.append(_backlog_gauges(runtime))  # every copy: each answers its own /metrics
    router = APIRouter(prefix="/v1/national-feed", tags=["national feed"])

    @router.get("", summary="The feed to the national system: on or off, its backlog and the receiver's health")
    async def status(principal: Principal = Depends(caller)) -> dict:  # noqa: ARG001 - the policy gate
        async with sessions() as session:
            backlog = await queue.backlog(session)
        oldest = backlog.pop("oldest_unsent_at")
        breaker = sender.breakers[LINK] if sender else None
        return {
            "enabled": sender is not None,
            "receiver": str(feed.target.url) if feed.target and feed.target.url else None,
            "org_units": feed.org_units,
            **backlog,
            "oldest_unsent_at": stored_utc(oldest).isoformat() if oldest else None,
            "circuit": None if breaker is None else {
                "state": breaker.state, "consecutive_failures": breaker.consecutive_failures,
                "seconds_until_trial": round(breaker.seconds_until_trial(now=time.monotonic()), 1)},
        }

    @router.get("/records", summary="Records of the feed by state, e.g. the parked ones, oldest first")
    async def records(state: str = Query(default="parked", pattern="^(pending|delivered|parked|withdrawn|erased)$"),
                      limit: int = Query(default=100, ge=1, le=1000), offset: int = Query(default=0, ge=0),
                      principal: Principal = Depends(caller)) -> dict:  # noqa: ARG001 - the policy gate
        async with sessions() as session:
            rows = (await session.exec(select(FeedRecord).where(FeedRecord.state == state)
                                       .order_by(col(FeedRecord.created_at), col(FeedRecord.delivery_id))
                                       .offset(offset).limit(limit))).all()
        return {"state": state, "records": [_record_view(r) for r in rows]}

    @router.post("/redrive", summary="Send parked records again, after the cause is fixed",
                 responses={409: {"description": "None of the records named is parked"}})
    async def redrive(body: Redrive, principal: Principal = Depends(caller)) -> JSONResponse:
        async with sessions() as session:
            done = await deliveries.redrive_parked(session, table=FeedRecord, narrow=lambda query: query,
                                                   keys=body.delivery_ids, actor=principal.subject, reason=body.reason,
                                                   at=datetime.now(UTC))
        not_parked = sorted(set(body.delivery_ids or ()) - set(done))
        return JSONResponse(status_code=409 if body.delivery_ids and not done else 200, content={
            "redriven": sorted(done), "not_parked": not_parked,
            "detail": f"{len(done)} parked records will be sent again, each in its person's order"
            + (f"; {len(not_parked)} were not parked and were left alone" if not_parked else "")})

    return router


def _record_view(record: FeedRecord) -> dict:
    """What operations see of a record: where it stands, never its body (it is about a person)."""
    at = (lambda moment: stored_utc(moment).isoformat() if moment else None)
    return {"delivery_id": record.delivery_id, "person_id": record.person_ref, "kind": record.kind,
            "referral_id": record.referral_id, "version": record.version, "sequence": record.sequence,
            "state": record.state, "attempts": record.attempts, "last_status_code": record.last_status_code,
            "last_error": record.last_error, "created_at": at(record.created_at), "parked_at": at(record.parked_at),
            "delivered_at": at(record.delivered_at), "redrive_count": record.redrive_count,
            "last_redrive_by": record.last_redrive_by, "last_redrive_reason": record.last_redrive_reason}


def _backlog_gauges(runtime: Runtime):  # noqa: ANN202 - a background task
    records = Gauge("songtor_national_feed_records", "National feed records by state", ["state"],
                    registry=runtime.registry)
    held_back = Gauge("songtor_national_feed_held_back", "Pending national feed records waiting behind a parked "
                      "record of the same person", registry=runtime.registry)
    oldest = Gauge("songtor_national_feed_oldest_unsent_seconds", "Age of the oldest national feed record not "
                   "delivered yet (0: none)", registry=runtime.registry)

    async def refresh() -> None:
        while True:
            try:
                async with runtime.sessions() as session:
                    backlog = await queue.backlog(session)
                for state, count in backlog["by_state"].items():
                    records.labels(state).set(count)
                held_back.set(backlog["held_back"])
                first = backlog["oldest_unsent_at"]
                oldest.set((datetime.now(UTC) - stored_utc(first)).total_seconds() if first else 0)
            except Exception:  # noqa: BLE001 - a database outage must not end the loop
                logger.warning("national feed backlog not read; will retry", exc_info=True)
            await asyncio.sleep(BACKLOG_SECONDS)

    return refresh
