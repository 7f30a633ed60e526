"""Each class of refusal, against the running intake API with the demo realm's tokens: 422 with
the field, the value and a reason a clerk can act on; 403 for an org unit the clerk does not
cover; 404 for an intake out of the caller's scope; nothing stored (a refused intake has no
status URL to look up)."""

import copy
import uuid
from dataclasses import dataclass

import httpx
import pytest

from tests.support.examples import contract_example
from tests.support.identity import claims_of
from tests.support.processes import ServiceProcess, free_port, service_env

pytestmark = pytest.mark.e2e

CLERK = "clerk-6406"


@pytest.fixture(scope="module")
def intake_url(kafka_cluster, identity, tmp_path_factory):
    """One intake process for the whole module: refusals never reach the database or broker."""
    run = f"t{uuid.uuid4().hex[:8]}"
    kafka_cluster.provision(topic_prefix=f"{run}.", group_prefix=f"{run}.", partitions=3)
    kafka_env = {"KAFKA_BOOTSTRAP_SERVERS": kafka_cluster.bootstrap, "KAFKA_SSL_CAFILE": str(kafka_cluster.ca_file),
                 "KAFKA_TOPIC_PREFIX": f"{run}.", "KAFKA_GROUP_PREFIX": f"{run}.", "SONGTOR_OIDC_ISSUER": identity.issuer}
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
    kafka_cluster.remove(topic_prefix=f"{run}.", group_prefix=f"{run}.")


@dataclass(frozen=True)
class Intake:
    url: str
    clerk: httpx.Auth  # who calls unless a test says otherwise: the clerk of 6406


@pytest.fixture(scope="module")
def intake(intake_url, identity) -> Intake:
    return Intake(intake_url, identity.auth(CLERK))


def post(intake: Intake, change, *, auth: httpx.Auth | None = None) -> httpx.Response:  # noqa: ANN001
    body = copy.deepcopy(contract_example())
    change(body)
    return httpx.post(f"{intake.url}/v1/intakes", json=body, timeout=10, auth=auth or intake.clerk)


def get(intake: Intake, path: str, *, auth: httpx.Auth | None = None) -> httpx.Response:
    return httpx.get(f"{intake.url}{path}", timeout=10, auth=auth or intake.clerk)


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
def test_national_id_mistakes_are_named(intake, value, says):
    error = refused_field(post(intake, lambda b: b["person"].update(national_id=value)), "person.national_id")
    assert error["value"] == value
    assert says in error["reason"]


def test_national_id_with_spaces_and_hyphens_is_accepted(intake):
    response = post(intake, lambda b: b["person"].update(national_id="3-6401-00456-78-1"))
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
def test_address_mistakes_are_refused_with_candidates_when_ambiguous(intake, address, says):
    response = post(intake, lambda b: b["person"].update(address=address))
    assert response.status_code == 422
    reasons = " ".join(e["reason"] for e in response.json()["errors"] if e["field"].startswith("person.address"))
    assert says in reasons


def test_address_by_thai_names_resolves_to_the_official_code(intake):
    address = {"subdistrict": "คลองตาล", "district": "ศรีสำโรง", "province": "สุโขทัย"}
    response = post(intake, lambda b: b["person"].update(address=address))
    assert response.status_code == 202, response.text
    shown = get(intake, response.json()['status_url']).json()
    assert shown["person"]["address"] == {"subdistrict_code": "640601", "district_code": "6406", "province_code": "64"}


@pytest.mark.parametrize(
    ("birth_date", "says"),
    [("2999-01-01", "future"), ("2512-03-14", "future"), ("2018-01-01", "years old"), ("1900-01-01", "years old")],
)
def test_implausible_birth_dates_are_refused(intake, birth_date, says):
    error = refused_field(post(intake, lambda b: b["person"].update(birth_date=birth_date)), "person.birth_date")
    assert says in error["reason"]


def test_elderly_mismatch_is_a_warning_not_a_refusal(intake):
    response = post(intake, lambda b: b["person"].update(worker_type="elderly", birth_date="1990-01-01"))
    assert response.status_code == 202
    warnings = response.json()["warnings"]
    assert [w["field"] for w in warnings] == ["person.worker_type"]
    shown = get(intake, response.json()['status_url']).json()
    assert shown["person"]["worker_type"] == "elderly"  # kept as given, not silently fixed
    assert shown["warnings"] == warnings


@pytest.mark.parametrize(("phone", "stored"), [("+66 81 234 5678", "0812345678"), ("081-234-5678", "0812345678"), ("02 123 4567", "021234567")])
def test_phone_numbers_are_normalised(intake, phone, stored):
    response = post(intake, lambda b: b["person"].update(phone=phone))
    assert response.status_code == 202, response.text
    assert get(intake, response.json()['status_url']).json()["person"]["phone"] == stored


@pytest.mark.parametrize("phone", ["12345", "0112345678", "+1 415 555 0100"])
def test_non_thai_phone_numbers_are_refused(intake, phone):
    refused_field(post(intake, lambda b: b["person"].update(phone=phone)), "person.phone")


@pytest.mark.parametrize("program", ["rehab_center", "ci_center", "tpmap", "informal_labour_unit", "walk_in"])
def test_no_source_refers_without_consent_to_share(intake, program):
    def change(body):
        body["source"]["program"] = program
        body["consent"]["share_with_agencies"] = False

    error = refused_field(post(intake, change), "consent.share_with_agencies")
    assert "Ask the person again" in error["reason"] and "served at intake" in error["reason"]
    assert ("PDPA section 26" in error["reason"]) is (program in ("rehab_center", "ci_center"))


def test_without_consent_a_service_at_intake_alone_is_taken_and_refers_nothing(intake):
    def change(body):
        body["source"]["program"] = "walk_in"
        body["needs"] = [{"code": "drug_prevention_outreach"}]
        body["consent"]["share_with_agencies"] = False

    response = post(intake, change)
    assert response.status_code == 202, response.text
    assert response.json()["referrals"] == []
    assert response.json()["services_delivered_at_intake"] == ["drug_prevention_outreach"]


def test_need_codes_must_be_known_and_listed_once(intake):
    def change(body):
        body["needs"] = [{"code": "job_registration"}, {"code": "moon_landing"}, {"code": "job_registration"}]

    response = post(intake, change)
    assert {e["field"] for e in response.json()["errors"]} == {"needs[1].code", "needs[2].code"}


def test_payload_limits(intake):
    too_many = post(intake, lambda b: b.update(needs=[{"code": "job_registration"}] * 21))
    refused_field(too_many, "needs")
    too_long = post(intake, lambda b: b["person"].update(full_name="ก" * 201))
    refused_field(too_long, "person.full_name")
    unknown = post(intake, lambda b: b["person"].update(religion="x"))
    refused_field(unknown, "person.religion")
    huge = post(intake, lambda b: b["needs"][0].update(note="x" * 70_000))
    assert huge.status_code == 413


# -- who may submit and read


@pytest.fixture(scope="module")
def taken(intake) -> tuple[str, str]:
    """An intake of org unit 6406 (the contract example: a person living in Sukhothai, 64)."""
    response = post(intake, lambda b: b["person"].update(national_id="1-1017-00203-45-0"))
    assert response.status_code == 202, response.text
    return response.json()["status_url"], response.json()["intake_id"]


def test_the_clerk_is_recorded_from_the_token_and_reported_by_is_kept(identity, intake, taken):
    shown = get(intake, taken[0]).json()
    assert shown["submitted_by"] == claims_of(identity.token(CLERK))["sub"]
    assert shown["source"]["reported_by"] == "officer-0017"


def test_a_clerk_of_another_org_unit_may_not_submit_for_6406(identity, intake):
    other = identity.ensure_user("clerk-2401", roles=["intake_clerk"], org_units=["2401"])
    response = post(intake, lambda b: None, auth=identity.auth(other))
    assert response.status_code == 403, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["value"]) == ("source.org_unit", "6406")
    assert "only for org unit 2401" in error["reason"] and error["reason_th"]


@pytest.mark.parametrize("user", ["clerk-6406", "province-64", "national"])
def test_an_intake_is_read_by_its_clerk_its_provincial_office_and_national(identity, intake, taken, user):
    assert get(intake, taken[0], auth=identity.auth(user)).status_code == 200


@pytest.mark.parametrize(("user", "roles", "scope"), [
    ("clerk-2401", ["intake_clerk"], {"org_units": ["2401"]}),
    ("province-24", ["provincial_office"], {"provinces": ["24"]}),
])
def test_out_of_scope_an_intake_is_404_like_one_that_does_not_exist(identity, intake, taken, user, roles, scope):
    auth = identity.auth(identity.ensure_user(user, roles=roles, **scope))
    path, intake_id = taken
    hidden = get(intake, path, auth=auth)
    assert hidden.status_code == 404 and hidden.json() == {"detail": f"No intake with id {intake_id}"}
    unknown_id = str(uuid.uuid4())
    unknown = get(intake, f"/v1/intakes/{unknown_id}", auth=auth)
    assert unknown.status_code == 404 and unknown.json() == {"detail": f"No intake with id {unknown_id}"}


def test_an_agency_officer_may_neither_submit_nor_read_intakes(identity, intake, taken):
    officer = identity.auth("officer-employment-64")
    assert post(intake, lambda b: None, auth=officer).status_code == 403
    assert get(intake, taken[0], auth=officer).status_code == 403


def test_without_a_token_nothing_is_answered(intake, taken):
    assert httpx.post(f"{intake.url}/v1/intakes", json=contract_example(), timeout=10).status_code == 401
    assert httpx.get(f"{intake.url}{taken[0]}", timeout=10).status_code == 401
