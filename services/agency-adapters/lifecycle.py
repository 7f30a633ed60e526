"""Where a referral may move: the lifecycle every agency shares, and what each move must carry.
Pure: no I/O."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared import ids
from shared.catalog.outcomes import OutcomeCatalog
from shared.contracts import ReferralStatus, ReferralUpdatedV2, Sealed
from shared.privacy.sealing import MOVE_NOTE, MOVE_REASON, PersonKey, seal_text

_OPEN_EXITS = frozenset({"declined", "unreachable", "transferred", "cancelled"})
# assigned -> received happens when the agency's consumer stores the referral; the rest are the
# agency's decisions through the workbench or its own system, and cancellation by the province.
ALLOWED_MOVES: dict[str, frozenset[str]] = {
    "assigned": frozenset({"received", "cancelled"}),
    "received": frozenset({"accepted"}) | _OPEN_EXITS,
    "accepted": frozenset({"in_progress", "completed"}) | _OPEN_EXITS,
    "in_progress": frozenset({"completed"}) | _OPEN_EXITS,
    "completed": frozenset(),
    "declined": frozenset(),
    "unreachable": frozenset(),
    "transferred": frozenset(),
    "cancelled": frozenset(),
}
FINAL_STATUSES = frozenset(status for status, moves in ALLOWED_MOVES.items() if not moves)


@dataclass(frozen=True, slots=True)
class MoveRefused:
    current: str
    requested: str
    allowed: tuple[str, ...]

    @property
    def reason(self) -> str:
        if not self.allowed:
            return f"The referral is already {self.current}; it cannot move any more."
        return (
            f"A referral that is {self.current} cannot become {self.requested}; "
            f"it can become: {', '.join(self.allowed)}."
        )


@dataclass(frozen=True, slots=True)
class Move:
    """One requested move, as the workbench or an agency's system asks for it."""

    status: ReferralStatus
    actor: str
    outcome_code: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    reason_code: str | None = None
    reason: str | None = None
    to_agency: str | None = None
    note: str | None = None


def check_move(*, current: str, requested: str) -> MoveRefused | None:
    allowed = ALLOWED_MOVES.get(current, frozenset())
    if requested in allowed:
        return None
    return MoveRefused(current=current, requested=requested, allowed=tuple(sorted(allowed)))


def move_problems(*, move: Move, agency: str, outcomes: OutcomeCatalog) -> list[str]:
    """What a move lacks or has wrong for its kind, in words the agency's clerk can act on."""
    problems: list[str] = []
    if move.status == "completed":
        if not move.outcome_code:
            return ["outcome_code: required to complete a referral"]
        problems += outcomes.detail_problems(agency=agency, code=move.outcome_code, details=move.details)
    elif move.outcome_code or move.details:
        problems.append("outcome_code/details: only a completed referral has an outcome")
    if move.status == "declined" and move.reason_code not in outcomes.decline_reasons:
        allowed = ", ".join(outcomes.decline_reasons)
        problems.append(f"reason_code: '{move.reason_code}' is not a decline reason ({allowed})")
    if move.status in ("transferred", "cancelled") and not (move.reason and len(move.reason.strip()) >= 5):
        problems.append(f"reason: say why the referral is {move.status} (at least 5 characters)")
    if move.status == "transferred" and (move.to_agency is None or move.to_agency == agency):
        problems.append("to_agency: name the other agency that should take the referral")
    return problems


def updated_event(
    *,
    referral_id: str,
    intake_id: str,
    person_ref: str,
    agency: str,
    status: ReferralStatus,
    previous_status: ReferralStatus,
    version: int,
    actor: str,
    occurred_at: datetime,
    outcome_code: str | None = None,
    move: Move | None = None,
    transferred_to: str | None = None,
    key: PersonKey | None = None,
) -> ReferralUpdatedV2:
    """The event announcing one move. Its id derives from the referral and version, so a
    retried publish of the same move is recognised downstream. The move's words are sealed with
    the person's `key` for this event; without a key (the person was erased) they are left out."""
    event_id = ids.derived_event_id(source_id=referral_id, purpose=f"updated/{version}")

    def sealed(text: str | None, field: str) -> Sealed | None:
        if not text or key is None:
            return None
        return seal_text(text, key=key, field=field, sealed_in=str(event_id))

    return ReferralUpdatedV2(
        event_id=event_id,
        occurred_at=occurred_at,
        correlation_id=intake_id,
        producer="agency-adapters",
        referral_id=referral_id,
        intake_id=intake_id,
        person_ref=person_ref,
        agency=agency,
        status=status,
        previous_status=previous_status,
        version=version,
        outcome_code=move.outcome_code if move else outcome_code,
        outcome_details=move.details if move else {},
        reason_code=move.reason_code if move else None,
        reason=sealed(move.reason if move else None, MOVE_REASON),
        transferred_to=transferred_to,
        note=sealed(move.note if move else None, MOVE_NOTE),
        actor=actor,
    )
