"""HTTP routes of the intake service. Thin: validate, call the domain, store, answer."""

import json
import logging
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from intake import domain, repository
from intake.clerk_errors import refusal
from intake.request import IntakeRequest
from shared import ids
from shared.catalog import NeedCatalog
from shared.db import OutboxRelay, add_to_outbox
from shared.topics import Topics

logger = logging.getLogger("songtor.intake.api")


def intake_router(
    *,
    catalog: NeedCatalog,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    topics: Topics,
    person_ref_key: str,
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["intake"])

    @router.post("/intakes", status_code=202, summary="Submit one person's needs for referral")
    async def submit_intake(request: IntakeRequest) -> JSONResponse:
        if errors := domain.reference_errors(request=request, catalog=catalog):
            return refusal(errors)
        intake_id = str(uuid.uuid4())
        event = domain.build_intake_event(
            request=request,
            intake_id=intake_id,
            event_id=ids.derived_event_id(source_id=intake_id, purpose="submitted"),
            received_at=datetime.now(UTC),
            person_ref_key=person_ref_key,
        )
        referrals, delivered = domain.plan_referrals(event=event, catalog=catalog)
        async with sessions() as session:
            repository.add_intake(session, event=event, referrals=referrals)
            add_to_outbox(session, topic=topics.intake_submitted, key=intake_id, event=event)
            await session.commit()
        # The committed outbox row is already durable; publishing now just makes it prompt.
        # If the broker is down, the relay's loop publishes it when the broker is back.
        try:
            await relay.flush()
        except Exception:  # noqa: BLE001
            logger.warning("intake %s stored; publish deferred to the outbox relay", intake_id, exc_info=True)
        logger.info("intake accepted", extra={"correlation_id": intake_id})
        return JSONResponse(
            status_code=202,
            content={
                "intake_id": intake_id,
                "status_url": f"/v1/intakes/{intake_id}",
                "referrals": [{"need_code": r.need_code, "referral_id": r.referral_id} for r in referrals],
                "services_delivered_at_intake": delivered,
            },
        )

    @router.get("/intakes/{intake_id}", summary="An intake and the current status of its referrals")
    async def show_intake(intake_id: str) -> dict:
        async with sessions() as session:
            found = await repository.get_intake(session, intake_id=intake_id)
        if found is None:
            raise HTTPException(status_code=404, detail=f"No intake with id {intake_id}")
        record, statuses = found
        event = json.loads(record.event_json)
        return {
            "intake_id": record.intake_id,
            "received_at": record.received_at.isoformat(),
            "source": event["source"],
            "person": event["person"],
            "needs": event["needs"],
            "consent": event["consent"],
            "referrals": [
                {
                    "referral_id": s.referral_id,
                    "need_code": s.need_code,
                    "agency": s.agency,
                    "status": s.status,
                    "updated_at": s.updated_at.isoformat(),
                }
                for s in statuses
            ],
        }

    @router.get("/needs", summary="The need catalog: codes the intake accepts")
    async def list_needs() -> dict:
        return {
            "version": catalog.version,
            "needs": [definition.model_dump() for definition in catalog.needs.values()],
        }

    return router
