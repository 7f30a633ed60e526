"""Which reports a caller may read, from the token's roles and places (the policy table in
shared/auth/policy.py has already checked the role).

A provincial office reads the reports of its own provinces: SNB-2, the summaries and the TPMAP
report by province, SP-12 by org unit (an org unit is covered through its province's two
digits). `national` reads every province. A report out of scope answers 404 with the same words
as one that does not exist, so asking for another province tells nothing about it."""

from collections.abc import Callable

from fastapi import HTTPException
from sqlalchemy import ColumnElement, and_, false, func, or_

from reporting.closing.models import PublishedReport
from shared.auth import Principal, Role, out_of_scope

ScopeTest = Callable[[str, str], bool]
# Every read-only role that is not tied to a place: the policy decides which routes it reaches.
_NOT_PLACED = (Role.NATIONAL, Role.OPS)


def province_not_found(province: str) -> HTTPException:
    return out_of_scope(f"report for province {province}")


def org_unit_not_found(org_unit: str) -> HTTPException:
    return out_of_scope(f"report for org unit {org_unit}")


def require_province(principal: Principal, province: str) -> None:
    if not principal.covers_province(province):
        raise province_not_found(province)


def require_org_unit(principal: Principal, org_unit: str) -> None:
    if not principal.covers_org_unit(org_unit):
        raise org_unit_not_found(org_unit)


def covers_form_scope(principal: Principal, *, form: str, scope: str) -> bool:
    """A filed form's scope: SP-12 is an org unit, SNB-2 a province."""
    if form == "sp12":
        return principal.covers_org_unit(scope)
    return principal.covers_province(scope)


def published_filter(principal: Principal) -> ColumnElement[bool] | None:
    """The SQL twin of covers_form_scope for listing filed versions (None: every scope), so the
    list's limit counts only versions the caller may see."""
    if principal.everywhere:
        return None
    provinces, org_units = sorted(principal.provinces), sorted(principal.org_units)
    sp12 = or_(
        func.substr(PublishedReport.scope, 1, 2).in_(provinces) if provinces else false(),
        PublishedReport.scope.in_(org_units) if org_units else false(),  # type: ignore[attr-defined]
    )
    snb2 = PublishedReport.scope.in_(provinces) if provinces else false()  # type: ignore[attr-defined]
    return or_(and_(PublishedReport.form == "sp12", sp12), and_(PublishedReport.form == "snb2", snb2))


def completeness_filter(principal: Principal, *, province: str | None) -> ScopeTest:
    """Which (form, scope) rows of the completeness table the caller sees: one province when
    given (404 when it is not the caller's), else all the caller covers; national and ops see
    every office (the table has codes, dates and counts, no person)."""
    if province is not None and not (principal.has(*_NOT_PLACED) or principal.covers_province(province)):
        raise province_not_found(province)

    def shown(form: str, scope: str) -> bool:
        if province is not None and scope[:2] != province:
            return False
        return principal.has(*_NOT_PLACED) or covers_form_scope(principal, form=form, scope=scope)

    return shown

