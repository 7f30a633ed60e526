"""Moving a referral: check the lifecycle and what the move must carry, record it with its
event in one transaction, and — for a transfer — open the linked referral at the other agency."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agency_adapters import lifecycle, repository
from agency_adapters.lifecycle import Move
from agency_adapters.models import AgencyReferral
from agency_adapters.scope import Refusal
from shared import ids
from shared.catalog.outcomes import OutcomeCatalog
from shared.contracts import AgencyPerson, ReferralAssignedV2, Sealed, routed_from
from shared.db import OutboxRelay, add_to_outbox
from shared.privacy import KeyWrapper, PersonKey, erased_people, keys_held
from shared.topics import Topics

# Who may make this move on this referral, decided once the referral is read (agency_adapters.scope).
MoveGate = Callable[[AgencyReferral], Refusal | None]


@dataclass(frozen=True, slots=True)
class Workbench:
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    topics: Topics
    outcomes: OutcomeCatalog
    master_keys: KeyWrapper  # opens the people of the referrals it shows (shared/privacy)


@dataclass(frozen=True, slots=True)
class MoveAnswer:
    status_code: int
    body: dict


def refused(status_code: int, detail: str, **extra: object) -> MoveAnswer:
    return MoveAnswer(status_code, {"detail": detail, **extra})


async def move_referral(bench: Workbench, *, referral_id: str, move: Move, gate: MoveGate) -> MoveAnswer:
    now = datetime.now(UTC)
    async with bench.sessions() as session:
        referral = await repository.get_referral(session, referral_id=referral_id)
        refusal = gate(referral) if referral is not None else None
        if referral is None or (refusal is not None and refusal.status_code == 404):
            # Out of the caller's scope reads exactly like absent: its existence is not revealed.
            return refused(404, f"No referral with id {referral_id}")
        if refusal is not None:
            return refused(refusal.status_code, refusal.detail)
        if refusal := lifecycle.check_move(current=referral.status, requested=move.status):
            return refused(409, refusal.reason, current_status=refusal.current, allowed_moves=list(refusal.allowed))
        if problems := lifecycle.move_problems(move=move, agency=referral.agency, outcomes=bench.outcomes):
            return refused(422, "The move is missing something or has something wrong.", errors=problems)
        sealing = await _sealing_for(session, bench=bench, referral=referral, move=move)
        if sealing.refusal is not None:
            return sealing.refusal
        if sealing.drop_words:
            move = replace(move, reason=None, note=None)
        previous, version = referral.status, referral.version + 1
        transferred_to = (
            ids.transferred_referral_id(referral_id=referral_id, to_agency=move.to_agency)
            if move.status == "transferred" and move.to_agency
            else None
        )
        event = lifecycle.updated_event(
            referral_id=referral_id, intake_id=referral.intake_id, agency=referral.agency, status=move.status,
            person_ref=referral.person_ref, previous_status=previous, version=version, actor=move.actor,
            occurred_at=now, move=move, transferred_to=transferred_to, key=sealing.key,
        )
        if not await repository.apply_move(session, referral=referral, move=move, event=event, transferred_to=transferred_to):
            return refused(409, "The referral was moved by someone else meanwhile; reload it and try again.")
        add_to_outbox(session, topic=bench.topics.referral_updated, key=referral_id, event=event)
        if transferred_to is not None and move.to_agency is not None:
            continuation = _continuation(referral, to_agency=move.to_agency, new_id=transferred_to, at=now)
            add_to_outbox(session, topic=bench.topics.referral_assigned(move.to_agency), key=transferred_to, event=continuation)
            # Intake learns where the referral went from this twin, without the person.
            add_to_outbox(session, topic=bench.topics.referral_routed, key=transferred_to, event=routed_from(continuation))
        await session.commit()
    bench.relay.wake()  # published by the relay loop; the move is durable in the outbox already
    answer = {"referral_id": referral_id, "status": move.status, "version": version, "transferred_to": transferred_to}
    if sealing.drop_words:
        answer["words_not_kept"] = ERASED_WORDS
    return MoveAnswer(200, answer)


ERASED_WORDS = ("The person was erased: the move is recorded without its reason and note, which would be "
                "about them. / ผู้รับบริการถูกลบข้อมูลแล้ว จึงบันทึกการเปลี่ยนสถานะโดยไม่เก็บเหตุผลและหมายเหตุ")


@dataclass(frozen=True, slots=True)
class _Sealing:
    """How a move's words go on `referral.updated`: sealed with the person's key, dropped (the
    person was erased here: nothing typed about them is kept), or not yet (refused)."""

    key: PersonKey | None = None
    drop_words: bool = False
    refusal: MoveAnswer | None = None


async def _sealing_for(session: AsyncSession, *, bench: Workbench, referral: AgencyReferral, move: Move) -> _Sealing:
    if not (move.reason or move.note):
        return _Sealing()
    person_ref = referral.person_ref
    if key := (await keys_held(session, wrapper=bench.master_keys, person_refs=[person_ref])).get(person_ref):
        return _Sealing(key=key)
    if person_ref in await erased_people(session, person_refs=[person_ref]):
        return _Sealing(drop_words=True)
    # Keys travel ahead of the referrals on person.keys; one not here yet is a moment's lag.
    return _Sealing(refusal=refused(409, "The person's key has not reached the agency service yet, so the reason "
                                    "and note cannot be sealed; try again in a minute."))


def _continuation(referral: AgencyReferral, *, to_agency: str, new_id: str, at: datetime) -> ReferralAssignedV2:
    """The linked referral the other agency receives: same person and need, new id."""
    return ReferralAssignedV2(
        event_id=ids.derived_event_id(source_id=new_id, purpose="assigned"),
        occurred_at=at,
        correlation_id=referral.intake_id,
        producer="agency-adapters",
        referral_id=new_id,
        intake_id=referral.intake_id,
        agency=to_agency,  # type: ignore[arg-type]
        need_code=referral.need_code,
        need_note=Sealed.model_validate_json(referral.need_note) if referral.need_note else None,
        category=referral.category,  # type: ignore[arg-type]
        person_ref=referral.person_ref,
        person=AgencyPerson.model_validate_json(referral.person_json),
        catalog_version="transfer",
        routing_rule=f"transfer:{referral.agency}->{to_agency}",
        transferred_from=referral.referral_id,
    )
