"""The intake API's refusals, over HTTP. Validation runs before anything is stored or published,
so these need neither broker nor database."""

import copy

import pytest
from fastapi.testclient import TestClient

from intake.main import build_app
from intake.settings import IntakeSettings
from tests.support.examples import contract_example


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings = IntakeSettings(database_url=f"sqlite:///{tmp_path_factory.mktemp('intake')}/intake.db")
    return TestClient(build_app(settings))  # no `with`: the lifespan (broker, DB) is not started


def _post(client, mutate):
    body = copy.deepcopy(contract_example())
    mutate(body)
    return client.post("/v1/intakes", json=body)


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
    assert "PDPA" in errors["consent.share_with_agencies"]["reason"]


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
