"""Routing's scope rules (routing.scope), caller by caller, without HTTP."""

import pytest

from routing.scope import sees_decision, triages, unroutable_provinces
from shared.auth import Principal, Role


def who(*roles: Role, provinces: tuple[str, ...] = ("64",), agency: str | None = None) -> Principal:
    return Principal(subject="s", username="u", roles=frozenset(roles), provinces=frozenset(provinces), agency=agency)


OFFICE, OFFICE_24 = who(Role.PROVINCIAL_OFFICE), who(Role.PROVINCIAL_OFFICE, provinces=("24",))
OFFICER, SKILLS = who(Role.AGENCY_OFFICER, agency="employment"), who(Role.AGENCY_OFFICER, agency="skills")
NATIONAL, CLERK = who(Role.NATIONAL, provinces=()), who(Role.INTAKE_CLERK, provinces=())


@pytest.mark.parametrize(("caller", "routed", "unroutable"), [
    (OFFICE, True, True), (NATIONAL, True, True), (OFFICER, True, False),
    (OFFICE_24, False, False), (SKILLS, False, False), (CLERK, False, False),
])
def test_who_reads_a_decision_in_sukhothai(caller, routed, unroutable):
    assert sees_decision(caller, agency="employment", province="64") is routed
    assert sees_decision(caller, agency=None, province="64") is unroutable


def test_only_the_provincial_office_of_the_province_triages():
    assert triages(OFFICE, province="64")
    assert not triages(OFFICE_24, province="64")
    assert not triages(NATIONAL, province="64")  # reads everywhere, decides nowhere
    assert not triages(OFFICER, province="64")


def test_the_unroutable_list_is_filtered_to_the_callers_provinces():
    assert unroutable_provinces(OFFICE) == {"64"}
    assert unroutable_provinces(NATIONAL) is None
    assert unroutable_provinces(OFFICER) == frozenset()
