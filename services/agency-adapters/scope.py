"""Who may see and move which referral. Pure: a Principal and a referral's agency and province in,
a decision out; the routes only apply it.

- An agency officer or head works on their agency's referrals in their provinces: the queue,
  history and the agency's own moves (accept, work on, complete, decline, unreachable).
- The provincial office reads every agency's referrals of its provinces, and is the one who
  cancels or transfers them.
- `national` reads across provinces, never writes.
- A referral outside the caller's scope answers 404 like one that does not exist. A caller who
  may see the referral but asks for a move that is someone else's gets 403 saying who may: the
  referral's existence is then no secret to them, and the message tells them whom to ask."""

from dataclasses import dataclass

from shared.auth import Principal, Role

AGENCY_MOVES = frozenset({"accepted", "in_progress", "completed", "declined", "unreachable"})
PROVINCE_MOVES = frozenset({"cancelled", "transferred"})
AGENCY_STAFF = (Role.AGENCY_OFFICER, Role.AGENCY_HEAD)


@dataclass(frozen=True, slots=True)
class Refusal:
    status_code: int
    detail: str = ""


HIDDEN = Refusal(404)  # answered with the same body as a referral that does not exist


def sees_referral(principal: Principal, *, agency: str, province: str | None) -> bool:
    """History and single reads: the agency's staff there, the provincial office, national."""
    return principal.everywhere or principal.works_for(agency, province) or principal.office_of(province)


def move_refusal(principal: Principal, *, agency: str, province: str | None, status: str) -> Refusal | None:
    """Why this caller may not make this move on this referral, or None when they may."""
    if not sees_referral(principal, agency=agency, province=province):
        return HIDDEN
    if status in PROVINCE_MOVES and not principal.office_of(province):
        return Refusal(403, f"A referral is {status} by the provincial office of province {province}, "
                            "not by the agency: ask that office to do it.")
    if status not in PROVINCE_MOVES and not principal.works_for(agency, province):
        return Refusal(403, f"'{status}' is the agency's own move: officers of {agency} in province "
                            f"{province} make it. The provincial office only cancels or transfers.")
    return None


def system_move_refusal(*, system_agency: str, agency: str, status: str) -> Refusal | None:
    """An agency's own system (signed callback) acts for that agency and nothing more: the
    provincial office's moves are not its to make either."""
    if agency != system_agency:
        return HIDDEN
    if status in PROVINCE_MOVES:
        return Refusal(403, f"A referral is {status} by the provincial office, not by the agency's system; "
                            "ask the provincial office.")
    return None


def queue_scope(principal: Principal, *, agency: str) -> frozenset[str] | Refusal:
    """The provinces of `agency`'s queue the caller sees.

    An officer asking for another agency's queue gets 403, not 404: the agencies are a fixed,
    published list (the path only takes those four), so a 404 would hide nothing and only
    suggest a typo, and an empty list would read as 'no work'. 403 says what is wrong."""
    if principal.has(Role.PROVINCIAL_OFFICE) or (principal.has(*AGENCY_STAFF) and principal.agency == agency):
        return principal.provinces
    return Refusal(403, f"This is {agency}'s queue: its own officers and the provincial office see it"
                        + (f"; you work for {principal.agency}." if principal.agency else "."))


def webhook_scope(principal: Principal, *, agency: str, change: bool = False) -> frozenset[str] | None | Refusal:
    """The provinces whose webhook deliveries the caller sees (or re-drives, with `change`);
    None: every province (ops, who sees deliveries but never who the person is)."""
    if change:
        if principal.has(Role.AGENCY_HEAD) and principal.agency == agency:
            return principal.provinces
        return Refusal(403, f"Re-driving {agency}'s webhook deliveries is for the head of {agency}.")
    if principal.has(Role.OPS):
        return None
    if principal.has(*AGENCY_STAFF) and principal.agency == agency:
        return principal.provinces
    return Refusal(403, f"{agency}'s system link is seen by its own staff and operations.")
