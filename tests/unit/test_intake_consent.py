"""Consent to share (issue 11 item 5): without it nothing personal reaches an agency, whatever
the source programme. Such an intake is taken only when every need is served at intake (the
catalog's delivered_at_intake: routing makes no referral for those); otherwise it is refused
with what to do instead."""

import copy
from typing import get_args

import pytest

from intake.domain import consent_error, plan_referrals, reference_errors
from intake.request import IntakeRequest
from shared.agencies import SourceProgram
from shared.catalog import default_catalog
from tests.support.examples import contract_example, intake_event

CATALOG = default_catalog()
PROGRAMMES = get_args(SourceProgram)
SERVED_AT_INTAKE = sorted(code for code, need in CATALOG.needs.items() if need.delivered_at_intake)


def request(program: str, *, consent: bool, needs: list[str]) -> IntakeRequest:
    body = copy.deepcopy(contract_example())
    body["source"]["program"] = program
    body["consent"]["share_with_agencies"] = consent
    body["needs"] = [{"code": code} for code in needs]
    return IntakeRequest.model_validate(body)


def test_every_source_programme_is_covered_here():
    assert set(PROGRAMMES) == {"rehab_center", "ci_center", "tpmap", "informal_labour_unit", "walk_in"}
    assert SERVED_AT_INTAKE == ["drug_prevention_outreach"]


@pytest.mark.parametrize("program", PROGRAMMES)
def test_without_consent_a_need_for_an_agency_is_refused_saying_what_to_do_instead(program):
    errors = reference_errors(request=request(program, consent=False, needs=["job_registration", "wage_rights"]),
                              catalog=CATALOG)
    [error] = errors
    assert (error["field"], error["value"]) == ("consent.share_with_agencies", False)
    assert "these needs cannot be referred: job_registration, wage_rights" in error["reason"]
    assert "Ask the person again" in error["reason"] and "record consent" in error["reason"]
    assert "record only what is served at intake (drug_prevention_outreach)" in error["reason"]
    assert "job_registration, wage_rights" in error["reason_th"]
    assert "สอบถามความยินยอมอีกครั้ง" in error["reason_th"] and "ณ จุดรับเรื่อง" in error["reason_th"]
    sensitive = program in ("rehab_center", "ci_center")
    assert ("PDPA section 26" in error["reason"]) is sensitive
    assert ("มาตรา 26" in error["reason_th"]) is sensitive


@pytest.mark.parametrize("program", PROGRAMMES)
def test_without_consent_a_need_for_an_agency_beside_a_service_at_intake_is_still_refused(program):
    errors = reference_errors(
        request=request(program, consent=False, needs=["drug_prevention_outreach", "skill_training"]), catalog=CATALOG)
    assert [e["field"] for e in errors] == ["consent.share_with_agencies"]
    assert "cannot be referred: skill_training." in errors[0]["reason"]


@pytest.mark.parametrize("program", PROGRAMMES)
def test_without_consent_an_intake_served_entirely_at_intake_is_taken_and_refers_nothing(program):
    taken = request(program, consent=False, needs=SERVED_AT_INTAKE)
    assert reference_errors(request=taken, catalog=CATALOG) == []
    event = intake_event(taken.model_dump(mode="json"))
    referrals, delivered = plan_referrals(event=event, catalog=CATALOG)
    assert referrals == [] and delivered == SERVED_AT_INTAKE, "no agency is told about this person"


@pytest.mark.parametrize("program", PROGRAMMES)
def test_with_consent_every_programme_refers(program):
    assert reference_errors(request=request(program, consent=True, needs=["job_registration"]), catalog=CATALOG) == []


def test_unknown_codes_are_refused_as_unknown_not_as_referred_without_consent():
    errors = reference_errors(request=request("walk_in", consent=False, needs=["drug_prevention_outreach", "moon"]),
                              catalog=CATALOG)
    assert [e["field"] for e in errors] == ["needs[1].code"]


def test_a_need_named_twice_is_listed_once_in_the_consent_refusal():
    error = consent_error(request=request("tpmap", consent=False, needs=["job_registration", "job_registration"]),
                          catalog=CATALOG)
    assert "cannot be referred: job_registration." in error["reason"]
