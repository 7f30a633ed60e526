"""Reads and writes of routing decisions. Keyword-only, session passed in."""

import json
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from routing.domain import ERASED_REASON, UNROUTABLE_RULE, Routed, agency_view_of, triage_explanation
from routing.models import RoutingDecision
from shared.catalog import RouteDecision
from shared.contracts import IntakeSubmittedV2, NeedUnroutableV1
from shared.db import get_for_update, stage


def _history_entry(*, at: datetime, by: str, state: str, agency: str | None, rule: str, reason: str) -> dict:
    return {"at": at.isoformat(), "by": by, "state": state, "agency": agency, "rule": rule, "reason": reason}


def add_decision(
    session: AsyncSession, *, routed: Routed, intake: IntakeSubmittedV2, catalog_version: str, decided_at: datetime
) -> None:
    decision = routed.decision
    if decision is None:
        reason = routed.event.reason if isinstance(routed.event, NeedUnroutableV1) else "no rule matched"
        state, agency, category, rule = "unroutable", None, None, UNROUTABLE_RULE
        person_json: str | None = agency_view_of(intake).model_dump_json()
    else:
        reason = decision.explanation
        state, agency, category, rule = "routed", decision.agency, decision.category, decision.rule
        person_json = None
    # Staged, written at commit in one statement with the batch's others (shared.db.staged): a
    # decision is never read back in the transaction that makes it.
    stage(session, RoutingDecision, {
        "referral_id": routed.referral_id, "intake_id": intake.intake_id, "need_code": routed.need_code,
        "need_note": routed.need_note.model_dump_json() if routed.need_note else None,
        "province_code": intake.person.address.province_code, "state": state,
        "agency": agency, "category": category, "rule": rule, "explanation": reason,
        "catalog_version": catalog_version, "person_ref": intake.person_ref, "person_json": person_json,
        "decided_at": decided_at, "decided_by": "routing",
        "history_json": json.dumps(
            [_history_entry(at=decided_at, by="routing", state=state, agency=agency, rule=rule, reason=reason)],
            ensure_ascii=False,
        ),
    })


async def get_decision(session: AsyncSession, *, referral_id: str, lock: bool = False) -> RoutingDecision | None:
    if lock:
        return await get_for_update(session, RoutingDecision, key={"referral_id": referral_id})
    return await session.get(RoutingDecision, referral_id)


async def list_unroutable(
    session: AsyncSession, *, provinces: frozenset[str] | None, limit: int, offset: int
) -> list[RoutingDecision]:
    """Needs waiting for triage in these provinces (None: every province)."""
    query = select(RoutingDecision).where(RoutingDecision.state == "unroutable")
    if provinces is not None:
        query = query.where(col(RoutingDecision.province_code).in_(sorted(provinces)))
    query = query.order_by(col(RoutingDecision.decided_at), col(RoutingDecision.referral_id))
    return list((await session.exec(query.offset(offset).limit(limit))).all())


def record_triage(
    session: AsyncSession, *, row: RoutingDecision, decision: RouteDecision, actor: str, reason: str, at: datetime
) -> None:
    history = json.loads(row.history_json)
    history.append(
        _history_entry(at=at, by=actor, state="triaged", agency=decision.agency, rule=decision.rule, reason=reason)
    )
    row.state, row.agency, row.category = "triaged", decision.agency, decision.category
    row.rule, row.explanation = decision.rule, decision.explanation
    row.decided_at, row.decided_by = at, actor
    row.history_json = json.dumps(history, ensure_ascii=False)
    row.person_json = None  # assigned now: routing no longer needs to hold the person's data
    session.add(row)


async def erase_person(session: AsyncSession, person_ref: str) -> dict[str, int]:
    """What routing holds of a person: the agency view (sealed) of a need waiting for triage, the
    needs' notes (sealed), and the reasons staff gave at triage (in clear: they may name the
    person). Routing has no key; it deletes its copies all the same. The decisions stay."""
    result = await session.exec(
        update(RoutingDecision).where(col(RoutingDecision.person_ref) == person_ref)  # type: ignore[call-overload]
        .where((col(RoutingDecision.person_json).is_not(None)) | (col(RoutingDecision.need_note).is_not(None)))
        .values(person_json=None, need_note=None))
    triaged = (await session.exec(select(RoutingDecision).where(
        RoutingDecision.person_ref == person_ref, RoutingDecision.state == "triaged"))).all()
    for row in triaged:
        row.explanation = triage_explanation(agency=row.agency or "-", actor=row.decided_by, reason=ERASED_REASON)
        history = json.loads(row.history_json)
        for entry in history:
            if entry["state"] == "triaged":
                entry["reason"] = ERASED_REASON
        row.history_json = json.dumps(history, ensure_ascii=False)
        session.add(row)
    return {"routing_decisions": result.rowcount or 0, "triage_reasons": len(triaged)}
