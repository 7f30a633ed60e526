"""Reads and writes of the agency referrals and their moves. Keyword-only, session passed in."""

import json
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from agency_adapters.lifecycle import Move
from agency_adapters.models import AgencyReferral, ReferralMove
from shared.contracts import ReferralAssignedV2, ReferralUpdatedV2, Sealed
from shared.db import stage

ASSIGNED_VERSION = 1
RECEIVED_VERSION = 2  # assignment is version 1; the agency's receipt is its first move


def province_of(event: ReferralAssignedV2) -> str:
    """The province a referral is scoped to: the person's address when referred. A transfer's
    continuation carries the same person, so it stays in the same province."""
    return event.person.address.province_code


def add_received(session: AsyncSession, *, event: ReferralAssignedV2, received_at: datetime) -> None:
    """The referral as received, and its first two moves: written at commit with the rest of the
    batch (shared.db.staged), as nothing reads them back before."""
    stage(session, AgencyReferral, {
        "referral_id": event.referral_id, "agency": event.agency, "intake_id": event.intake_id,
        "need_code": event.need_code, "category": event.category,
        "need_note": event.need_note.model_dump_json() if event.need_note else None,  # sealed, opened in views
        "person_ref": event.person_ref, "province_code": province_of(event),
        "person_json": event.person.model_dump_json(), "status": "received", "version": RECEIVED_VERSION,
        "transferred_from": event.transferred_from, "assigned_at": event.occurred_at, "updated_at": received_at,
    })
    how = f"transferred from referral {event.transferred_from}" if event.transferred_from else f"routing rule {event.routing_rule}"
    stage(session, ReferralMove, _move_row(referral_id=event.referral_id, version=ASSIGNED_VERSION, status="assigned",
                                           previous_status=None, actor=event.producer, at=event.occurred_at,
                                           move=Move(status="assigned", actor=event.producer, note=how)))
    stage(session, ReferralMove, _move_row(referral_id=event.referral_id, version=RECEIVED_VERSION, status="received",
                                           previous_status="assigned", actor="system", at=received_at))


def _move_row(*, referral_id: str, version: int, status: str, previous_status: str | None, actor: str,
              at: datetime, move: Move | None = None) -> dict:
    return {
        "referral_id": referral_id, "version": version, "status": status, "previous_status": previous_status,
        "actor": actor, "at": at,
        "outcome_code": move.outcome_code if move else None,
        "outcome_details_json": json.dumps(move.details if move else {}, ensure_ascii=False),
        "reason_code": move.reason_code if move else None,
        "reason": move.reason if move else None,
        "note": move.note if move else None,
    }


async def history(session: AsyncSession, *, referral_id: str) -> list[ReferralMove]:
    rows = await session.exec(
        select(ReferralMove).where(ReferralMove.referral_id == referral_id).order_by(col(ReferralMove.version))
    )
    return list(rows.all())


async def get_referral(session: AsyncSession, *, referral_id: str) -> AgencyReferral | None:
    return await session.get(AgencyReferral, referral_id)


async def list_referrals(
    session: AsyncSession, *, agency: str, provinces: frozenset[str], status: str | None, limit: int, offset: int
) -> list[AgencyReferral]:
    query = select(AgencyReferral).where(
        AgencyReferral.agency == agency, col(AgencyReferral.province_code).in_(sorted(provinces))
    )
    if status:
        query = query.where(AgencyReferral.status == status)
    query = query.order_by(col(AgencyReferral.assigned_at), col(AgencyReferral.referral_id))
    return list((await session.exec(query.offset(offset).limit(limit))).all())


async def apply_move(
    session: AsyncSession,
    *,
    referral: AgencyReferral,
    move: Move,
    event: ReferralUpdatedV2,
    transferred_to: str | None = None,
) -> bool:
    """Compare-and-set on the version: False when someone else moved the referral first. The
    move's words are stored as its event carries them, sealed with the person's key."""
    connection = await session.connection()  # a Core UPDATE: its rowcount is the compare-and-set
    result = await connection.execute(
        update(AgencyReferral)
        .where(
            col(AgencyReferral.referral_id) == referral.referral_id,
            col(AgencyReferral.version) == referral.version,
        )
        .values(
            status=move.status,
            version=referral.version + 1,
            outcome_code=move.outcome_code,
            outcome_details_json=json.dumps(move.details, ensure_ascii=False),
            reason_code=move.reason_code,
            note=_sealed_json(event.note),
            transferred_to=transferred_to,
            updated_at=event.occurred_at,
        )
    )
    if result.rowcount != 1:
        return False
    session.add(ReferralMove(**_move_row(
        referral_id=referral.referral_id, version=event.version, status=move.status, previous_status=referral.status,
        actor=move.actor, at=event.occurred_at, move=move,
    ) | {"reason": _sealed_json(event.reason), "note": _sealed_json(event.note)}))
    return True


def _sealed_json(value: Sealed | None) -> str | None:
    return value.model_dump_json() if value is not None else None


async def erase_free_text(session: AsyncSession, *, person_ref: str) -> dict[str, int]:
    """What staff typed about a person: the referrals' notes and their moves' notes and reasons,
    sealed (the first two moves are the system's and name no one). Unreadable once the key goes,
    they go all the same. The moves themselves stay."""
    referrals = select(AgencyReferral.referral_id).where(AgencyReferral.person_ref == person_ref)
    moves = await session.exec(
        update(ReferralMove).where(col(ReferralMove.referral_id).in_(referrals), ReferralMove.version > RECEIVED_VERSION)
        .where(col(ReferralMove.note).is_not(None) | col(ReferralMove.reason).is_not(None))  # type: ignore[call-overload]
        .values(note=None, reason=None))
    notes = await session.exec(
        update(AgencyReferral).where(AgencyReferral.person_ref == person_ref, col(AgencyReferral.note).is_not(None))
        .values(note=None))  # type: ignore[call-overload]
    return {"agency_referral_moves": moves.rowcount or 0, "agency_referrals": notes.rowcount or 0}
