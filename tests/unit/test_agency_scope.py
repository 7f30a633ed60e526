"""The workbench's scope rules (agency_adapters.scope), caller by caller, without HTTP."""

import pytest

from agency_adapters.scope import (
    HIDDEN, Refusal, move_refusal, queue_scope, sees_referral, system_move_refusal, webhook_scope,
)
from shared.auth import Principal, Role


def who(*roles: Role, provinces: tuple[str, ...] = ("64",), agency: str | None = None) -> Principal:
    return Principal(subject="s", username="u", roles=frozenset(roles), provinces=frozenset(provinces), agency=agency)


OFFICER = who(Role.AGENCY_OFFICER, agency="employment")
HEAD = who(Role.AGENCY_HEAD, Role.AGENCY_OFFICER, agency="employment")
SKILLS = who(Role.AGENCY_OFFICER, agency="skills")
OFFICER_24 = who(Role.AGENCY_OFFICER, provinces=("24",), agency="employment")
OFFICE = who(Role.PROVINCIAL_OFFICE)
OFFICE_24 = who(Role.PROVINCIAL_OFFICE, provinces=("24",))
NATIONAL = who(Role.NATIONAL, provinces=())
OPS = who(Role.OPS, provinces=())


@pytest.mark.parametrize(("caller", "sees"), [
    (OFFICER, True), (HEAD, True), (OFFICE, True), (NATIONAL, True),
    (SKILLS, False), (OFFICER_24, False), (OFFICE_24, False), (OPS, False),
])
def test_who_reads_an_employment_referral_in_sukhothai(caller, sees):
    assert sees_referral(caller, agency="employment", province="64") is sees


@pytest.mark.parametrize(("caller", "status", "answer"), [
    (OFFICER, "accepted", None), (HEAD, "completed", None), (OFFICE, "cancelled", None), (OFFICE, "transferred", None),
    (OFFICER, "cancelled", 403), (HEAD, "transferred", 403), (OFFICE, "accepted", 403), (OFFICE, "declined", 403),
    (NATIONAL, "cancelled", 403), (NATIONAL, "accepted", 403),  # reads everywhere, writes nowhere
    (SKILLS, "accepted", 404), (SKILLS, "cancelled", 404), (OFFICER_24, "accepted", 404), (OFFICE_24, "cancelled", 404),
])
def test_who_makes_which_move(caller, status, answer):
    refusal = move_refusal(caller, agency="employment", province="64", status=status)
    assert (refusal.status_code if refusal else None) == answer
    if answer == 404:
        assert refusal is HIDDEN  # the route answers it exactly like an absent referral


def test_a_refused_move_says_who_may_make_it():
    assert "provincial office of province 64" in move_refusal(OFFICER, agency="employment", province="64",
                                                              status="cancelled").detail
    assert "officers of employment in province 64" in move_refusal(OFFICE, agency="employment", province="64",
                                                                   status="completed").detail


def test_an_office_that_is_also_an_officer_does_both_in_its_own_province():
    both = who(Role.PROVINCIAL_OFFICE, Role.AGENCY_OFFICER, agency="employment")
    for status in ("accepted", "cancelled"):
        assert move_refusal(both, agency="employment", province="64", status=status) is None
    assert move_refusal(both, agency="skills", province="64", status="accepted").status_code == 403


def test_a_referral_without_a_province_is_nobodys_but_national():
    assert not sees_referral(OFFICE, agency="employment", province=None)
    assert move_refusal(OFFICER, agency="employment", province=None, status="accepted") is HIDDEN
    assert sees_referral(NATIONAL, agency="employment", province=None)


def test_an_agency_system_moves_its_own_referrals_only_and_never_cancels_or_transfers():
    assert system_move_refusal(system_agency="skills", agency="skills", status="completed") is None
    assert system_move_refusal(system_agency="skills", agency="employment", status="accepted") is HIDDEN
    assert system_move_refusal(system_agency="skills", agency="skills", status="cancelled").status_code == 403


def test_the_queue_is_the_agencys_own_in_the_callers_provinces():
    assert queue_scope(OFFICER, agency="employment") == {"64"}
    assert queue_scope(OFFICE_24, agency="skills") == {"24"}
    refused = queue_scope(SKILLS, agency="employment")
    assert isinstance(refused, Refusal) and refused.status_code == 403 and "you work for skills" in refused.detail
    assert isinstance(queue_scope(NATIONAL, agency="employment"), Refusal)


def test_webhook_deliveries_are_the_agencys_staff_in_their_provinces_and_ops_everywhere():
    assert webhook_scope(OFFICER, agency="employment") == {"64"}
    assert webhook_scope(OPS, agency="employment") is None
    assert webhook_scope(SKILLS, agency="employment").status_code == 403
    assert webhook_scope(HEAD, agency="employment", change=True) == {"64"}
    for caller in (OFFICER, OPS, SKILLS, OFFICE):
        assert webhook_scope(caller, agency="employment", change=True).status_code == 403
