"""The intake API's refusals, over HTTP, as a clerk of org unit 6406 with a real token.
Validation runs before anything is stored or published, so these need neither broker nor
database."""

import copy

import pytest
from fastapi.testclient import TestClient

from intake.main import build_app
from intake.settings import IntakeSettings
from shared.auth import OidcSettings
from shared.settings import PrivacySettings
from tests.support.examples import contract_example
from tests.support.tokens import LocalIssuer

ISSUER = LocalIssuer()


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings = IntakeSettings(database_url=f"sqlite:///{tmp_path_factory.mktemp('intake')}/intake.db",
                              oidc=OidcSettings(issuer=ISSUER.issuer), privacy=PrivacySettings(environment="test"))
    app = ISSUER.trust(build_app(settings))
    # no `with`: the lifespan (broker, DB) is not started
    return TestClient(app, headers=ISSUER.headers("intake_clerk", subject="clerk-6406", org_units=("6406",)))


def _post(client, mutate, **kwargs):
    body = copy.deepcopy(contract_example())
    mutate(body)
    return client.post("/v1/intakes", json=body, **kwargs)


def _fields(response):
    assert response.status_code == 422, response.text
    return {error["field"]: error for error in response.json()["errors"]}


def test_bad_check_digit_names_the_field_the_value_and_why(client):
    errors = _fields(_post(client, lambda b: b["person"].update(national_id="3640100456782")))
    error = errors["person.national_id"]
    assert error["value"] == "3640100456782"
    assert "check" in error["reason"]
    assert error["reason_th"]


def test_unknown_subdistrict_is_refused(client):
    errors = _fields(_post(client, lambda b: b["person"]["address"].update(subdistrict_code="649999")))
    assert "official list" in errors["person.address.subdistrict_code"]["reason"]


def test_unknown_and_repeated_need_codes_are_refused_each_at_its_position(client):
    def mutate(body):
        body["needs"] = [{"code": "job_registration"}, {"code": "flying_lessons"}, {"code": "job_registration"}]

    errors = _fields(_post(client, mutate))
    assert set(errors) == {"needs[1].code", "needs[2].code"}
    assert errors["needs[1].code"]["value"] == "flying_lessons"


def test_missing_consent_is_refused(client):
    errors = _fields(_post(client, lambda b: b.pop("consent")))
    assert errors["consent"]["reason"] == "This field is required."


def test_rehab_centre_intake_without_consent_to_share_is_refused(client):
    errors = _fields(_post(client, lambda b: b["consent"].update(share_with_agencies=False)))
    error = errors["consent.share_with_agencies"]
    assert error["value"] is False
    assert "job_registration, skill_training, ss_article40_enrolment, ss_article33_benefit_check" in error["reason"]
    assert "Ask the person again" in error["reason"] and "drug_prevention_outreach" in error["reason"]
    assert "PDPA" in error["reason"] and "มาตรา 26" in error["reason_th"]


def test_walk_in_intake_without_consent_to_share_is_refused_too_without_the_pdpa_26_note(client):
    def mutate(body):
        body["source"]["program"] = "walk_in"
        body["consent"]["share_with_agencies"] = False

    error = _fields(_post(client, mutate))["consent.share_with_agencies"]
    assert "cannot be referred" in error["reason"] and "PDPA" not in error["reason"]
    assert "ไม่ยินยอม" in error["reason_th"]


@pytest.mark.parametrize("program", ["rehab_center", "walk_in"])
def test_a_note_telling_the_agency_of_drug_treatment_is_refused_whatever_the_programme(client, program):
    def mutate(body):
        body["source"]["program"] = program
        body["needs"][0]["note"] = "จบการบำบัดจากศูนย์ฟื้นฟูสภาพทางสังคม อยากทำงานรับจ้าง"

    errors = _fields(_post(client, mutate))
    assert set(errors) == {"needs[0].note"}
    assert "goes to the agency" in errors["needs[0].note"]["reason"] and "PDPA section 26" in errors["needs[0].note"]["reason"]
    assert "'บำบัด', 'ศูนย์ฟื้นฟู'" in errors["needs[0].note"]["reason_th"]


def test_a_clerk_of_another_org_unit_is_refused_naming_the_field_the_value_and_their_units(client):
    clerk_2401 = ISSUER.headers("intake_clerk", subject="clerk-2401", org_units=("2401",))
    response = _post(client, lambda b: None, headers=clerk_2401)
    assert response.status_code == 403, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["value"]) == ("source.org_unit", "6406")
    assert "only for org unit 2401" in error["reason"] and "หน่วยงาน 2401" in error["reason_th"]
    assert "Nothing was stored" in response.json()["detail"]


@pytest.mark.parametrize(("role", "scope"), [
    ("provincial_office", {"provinces": ("64",)}),
    ("national", {}),
    ("agency_officer", {"agency": "employment", "provinces": ("64",)}),
    ("ops", {}),
])
def test_only_an_intake_clerk_may_submit(client, role, scope):
    response = _post(client, lambda b: None, headers=ISSUER.headers(role, **scope))
    assert response.status_code == 403
    assert "intake_clerk" in response.json()["detail"]


def test_no_token_or_a_token_of_another_issuer_is_401(client):
    assert _post(client, lambda b: None, headers={"Authorization": ""}).status_code == 401
    forged = ISSUER.mint(roles=("intake_clerk",), org_units=("6406",), issuer="https://evil.example/realms/songtor")
    response = _post(client, lambda b: None, headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and "WWW-Authenticate" in response.headers


def test_unknown_fields_are_refused(client):
    errors = _fields(_post(client, lambda b: b["person"].update(religion="x")))
    assert "not part of the intake form" in errors["person.religion"]["reason"]


def test_several_mistakes_are_reported_together(client):
    def mutate(body):
        body["person"]["national_id"] = "12345"
        body["person"]["birth_date"] = "2999-01-01"
        body["person"]["phone"] = "12"

    errors = _fields(_post(client, mutate))
    assert {"person.national_id", "person.birth_date", "person.phone"} <= set(errors)


def test_oversized_body_is_refused_before_parsing(client):
    body = contract_example()
    body["needs"][0]["note"] = "x" * 70_000
    response = client.post("/v1/intakes", json=body)
    assert response.status_code == 413
