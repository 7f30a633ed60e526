"""Who may read and triage which routing decision. Pure: a Principal and a decision's agency and
province in, a yes or no out; the routes apply it, and answer 404 for a decision out of scope
exactly as for one that does not exist.

- The provincial office reads the decisions of its provinces and triages their unroutable needs.
- An agency officer or head reads why a referral of their agency, in their provinces, came to
  them (an unroutable need has no agency yet, so no officer sees it).
- `national` reads every province and triages none."""

from shared.auth import Principal, Role


def triages(principal: Principal, *, province: str | None) -> bool:
    return principal.office_of(province)


def sees_decision(principal: Principal, *, agency: str | None, province: str | None) -> bool:
    return principal.everywhere or triages(principal, province=province) or principal.works_for(agency, province)


def unroutable_provinces(principal: Principal) -> frozenset[str] | None:
    """The provinces whose unroutable needs the caller lists; None: every province."""
    if principal.everywhere:
        return None
    return principal.provinces if principal.has(Role.PROVINCIAL_OFFICE) else frozenset()
