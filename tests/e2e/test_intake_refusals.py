"""Each class of refusal, against the running intake API: 422 with the field, the value and a
reason a clerk can act on; nothing stored (a refused intake has no status URL to look up)."""

import copy
import uuid

import httpx
import pytest

from tests.support.examples import contract_example
from tests.support.processes import ServiceProcess, free_port, service_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def intake_url(kafka_bootstrap, tmp_path_factory):
    """One intake process for the whole module: refusals never reach the database or broker."""
    run = f"t{uuid.uuid4().hex[:8]}"
    kafka_env = {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "KAFKA_TOPIC_PREFIX": f"{run}.", "KAFKA_GROUP_PREFIX": f"{run}."}
    folder = tmp_path_factory.mktemp("intake")
    port = free_port()
    service = ServiceProcess(
        name="intake",
        env=service_env(name="intake", port=port, database_url=f"sqlite:///{folder}/intake.db", kafka_env=kafka_env),
        port=port,
        log_path=folder / "intake.log",
    ).start()
    yield service.url
    service.stop()


def post(url: str, change) -> httpx.Response:  # noqa: ANN001
    body = copy.deepcopy(contract_example())
    change(body)
    return httpx.post(f"{url}/v1/intakes", json=body, timeout=10)


def refused_field(response: httpx.Response, field: str) -> dict:
    assert response.status_code == 422, response.text
    errors = {e["field"]: e for e in response.json()["errors"]}
    assert field in errors, errors
    assert errors[field]["reason"] and errors[field]["reason_th"]
    return errors[field]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("๓๖๔๐๑๐๐๔๕๖๗๘๑", "Thai digits"),
        ("３６４０１００４５６７８１", "full-width"),
        ("36401004567AB", "only digits"),
        ("364010045678", "13 digits"),
        ("3640100456782", "check"),
    ],
)
def test_national_id_mistakes_are_named(intake_url, value, says):
    error = refused_field(post(intake_url, lambda b: b["person"].update(national_id=value)), "person.national_id")
    assert error["value"] == value
    assert says in error["reason"]


def test_national_id_with_spaces_and_hyphens_is_accepted(intake_url):
    response = post(intake_url, lambda b: b["person"].update(national_id="3-6401-00456-78-1"))
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ({"subdistrict_code": "649999"}, "official list"),
        ({"subdistrict_code": "64060"}, "6 digits"),
        ({"subdistrict": "ไม่มีตำบลนี้", "province": "สุโขทัย"}, "check the spelling"),
        ({"subdistrict": "ในเมือง"}, "Candidates: "),
        ({}, "subdistrict code, or the subdistrict"),
    ],
)
def test_address_mistakes_are_refused_with_candidates_when_ambiguous(intake_url, address, says):
    response = post(intake_url, lambda b: b["person"].update(address=address))
    assert response.status_code == 422
    reasons = " ".join(e["reason"] for e in response.json()["errors"] if e["field"].startswith("person.address"))
    assert says in reasons


def test_address_by_thai_names_resolves_to_the_official_code(intake_url):
    address = {"subdistrict": "คลองตาล", "district": "ศรีสำโรง", "province": "สุโขทัย"}
    response = post(intake_url, lambda b: b["person"].update(address=address))
    assert response.status_code == 202, response.text
    shown = httpx.get(f"{intake_url}{response.json()['status_url']}").json()
    assert shown["person"]["address"] == {"subdistrict_code": "640601", "district_code": "6406", "province_code": "64"}


@pytest.mark.parametrize(
    ("birth_date", "says"),
    [("2999-01-01", "future"), ("2512-03-14", "future"), ("2018-01-01", "years old"), ("1900-01-01", "years old")],
)
def test_implausible_birth_dates_are_refused(intake_url, birth_date, says):
    error = refused_field(post(intake_url, lambda b: b["person"].update(birth_date=birth_date)), "person.birth_date")
    assert says in error["reason"]


def test_elderly_mismatch_is_a_warning_not_a_refusal(intake_url):
    response = post(intake_url, lambda b: b["person"].update(worker_type="elderly", birth_date="1990-01-01"))
    assert response.status_code == 202
    warnings = response.json()["warnings"]
    assert [w["field"] for w in warnings] == ["person.worker_type"]
    shown = httpx.get(f"{intake_url}{response.json()['status_url']}").json()
    assert shown["person"]["worker_type"] == "elderly"  # kept as given, not silently fixed
    assert shown["warnings"] == warnings


@pytest.mark.parametrize(("phone", "stored"), [("+66 81 234 5678", "0812345678"), ("081-234-5678", "0812345678"), ("02 123 4567", "021234567")])
def test_phone_numbers_are_normalised(intake_url, phone, stored):
    response = post(intake_url, lambda b: b["person"].update(phone=phone))
    assert response.status_code == 202, response.text
    assert httpx.get(f"{intake_url}{response.json()['status_url']}").json()["person"]["phone"] == stored


@pytest.mark.parametrize("phone", ["12345", "0112345678", "+1 415 555 0100"])
def test_non_thai_phone_numbers_are_refused(intake_url, phone):
    refused_field(post(intake_url, lambda b: b["person"].update(phone=phone)), "person.phone")


@pytest.mark.parametrize("program", ["rehab_center", "ci_center"])
def test_sensitive_sources_need_explicit_consent(intake_url, program):
    def change(body):
        body["source"]["program"] = program
        body["consent"]["share_with_agencies"] = False

    refused_field(post(intake_url, change), "consent.share_with_agencies")


def test_other_sources_may_refer_without_the_explicit_consent_flag(intake_url):
    def change(body):
        body["source"]["program"] = "walk_in"
        body["consent"]["share_with_agencies"] = False

    assert post(intake_url, change).status_code == 202


def test_need_codes_must_be_known_and_listed_once(intake_url):
    def change(body):
        body["needs"] = [{"code": "job_registration"}, {"code": "moon_landing"}, {"code": "job_registration"}]

    response = post(intake_url, change)
    assert {e["field"] for e in response.json()["errors"]} == {"needs[1].code", "needs[2].code"}


def test_payload_limits(intake_url):
    too_many = post(intake_url, lambda b: b.update(needs=[{"code": "job_registration"}] * 21))
    refused_field(too_many, "needs")
    too_long = post(intake_url, lambda b: b["person"].update(full_name="ก" * 201))
    refused_field(too_long, "person.full_name")
    unknown = post(intake_url, lambda b: b["person"].update(religion="x"))
    refused_field(unknown, "person.religion")
    huge = post(intake_url, lambda b: b["needs"][0].update(note="x" * 70_000))
    assert huge.status_code == 413
