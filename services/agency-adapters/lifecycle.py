"""Where a referral may move: the lifecycle every agency shares. Pure."""

from dataclasses import dataclass
from datetime import datetime

from shared import ids
from shared.contracts import ReferralStatus, ReferralUpdatedV1

# assigned -> received happens when the agency's consumer stores the referral; the rest are
# the agency's own decisions through the workbench.
ALLOWED_MOVES: dict[str, frozenset[str]] = {
    "assigned": frozenset({"received"}),
    "received": frozenset({"accepted", "declined"}),
    "accepted": frozenset({"completed", "declined"}),
    "completed": frozenset(),
    "declined": frozenset(),
}


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


def check_move(*, current: str, requested: ReferralStatus) -> MoveRefused | None:
    allowed = ALLOWED_MOVES.get(current, frozenset())
    if requested in allowed:
        return None
    return MoveRefused(current=current, requested=requested, allowed=tuple(sorted(allowed)))


def updated_event(
    *,
    referral_id: str,
    intake_id: str,
    agency: str,
    status: ReferralStatus,
    previous_status: ReferralStatus,
    version: int,
    actor: str,
    occurred_at: datetime,
    outcome_code: str | None = None,
    note: str | None = None,
) -> ReferralUpdatedV1:
    """The event announcing one move. Its id derives from the referral and version, so a
    retried publish of the same move is recognised downstream."""
    return ReferralUpdatedV1(
        event_id=ids.derived_event_id(source_id=referral_id, purpose=f"updated/{version}"),
        occurred_at=occurred_at,
        correlation_id=intake_id,
        producer="agency-adapters",
        referral_id=referral_id,
        intake_id=intake_id,
        agency=agency,
        status=status,
        previous_status=previous_status,
        version=version,
        outcome_code=outcome_code,
        note=note,
        actor=actor,
    )
