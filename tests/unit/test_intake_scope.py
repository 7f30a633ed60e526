"""Who may submit and read intakes and bulk jobs: the pure rules (intake.scope), then the real
intake app with real tokens (tests.support.tokens) on an SQLite file, without a broker: an
intake submitted by a clerk of 6406 and read by each kind of caller, in and out of scope."""

import random

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from intake.main import build_app
from intake.scope import Submitter, may_read_intake, may_read_job
from intake.settings import IntakeSettings
from shared.auth import OidcSettings, Principal, Role
from shared.settings import PrivacySettings
from tests.support.examples import contract_example, intake_for, thai_national_id
from tests.support.tokens import LocalIssuer

ISSUER = LocalIssuer()


def principal(*roles: Role, subject: str = "someone", org_units=(), provinces=(), agency=None) -> Principal:  # noqa: ANN001
    return Principal(subject=subject, username=subject, roles=frozenset(roles), org_units=frozenset(org_units),
                     provinces=frozenset(provinces), agency=agency)


# -- the rules


def test_an_org_unit_is_covered_by_itself_or_by_its_province():
    clerk = Submitter("c", org_units=frozenset({"6406"}), provinces=frozenset({"24"}))
    assert clerk.covers("6406") and clerk.covers("2401") and clerk.covers("2411")
    assert not clerk.covers("6401") and not clerk.covers("4001")
    assert clerk.reach == {"64", "24"}


def test_national_reads_everything_but_submits_nothing():
    national = principal(Role.NATIONAL)
    assert Submitter.of(national).covers("6406") is False
    assert may_read_intake(national, org_unit="6406", province_code="64")
    assert may_read_job(national, submitter=Submitter("c", org_units=frozenset({"6406"})))


@pytest.mark.parametrize(("caller", "sees"), [
    (principal(Role.INTAKE_CLERK, org_units=["6406"]), True),
    (principal(Role.INTAKE_CLERK, provinces=["64"]), True),
    (principal(Role.INTAKE_CLERK, org_units=["6401"]), False),
    (principal(Role.INTAKE_CLERK, org_units=["2401"]), False),
    (principal(Role.PROVINCIAL_OFFICE, provinces=["64"]), True),
    (principal(Role.PROVINCIAL_OFFICE, provinces=["24"]), True),   # the person lives in 24
    (principal(Role.PROVINCIAL_OFFICE, provinces=["40"]), False),
    # Scope claims count only with the role they go with: an officer of 64 is not a clerk of 6406.
    (principal(Role.AGENCY_OFFICER, provinces=["64"], org_units=["6406"], agency="employment"), False),
])
def test_who_reads_an_intake_of_org_unit_6406_for_a_person_living_in_24(caller, sees):
    assert may_read_intake(caller, org_unit="6406", province_code="24") is sees


@pytest.mark.parametrize(("caller", "sees"), [
    (principal(Role.INTAKE_CLERK, subject="uploader", org_units=["6406"]), True),
    (principal(Role.INTAKE_CLERK, subject="colleague", org_units=["6406"]), False),
    (principal(Role.PROVINCIAL_OFFICE, provinces=["64"]), False),  # 2401 of the uploader is not theirs
    (principal(Role.PROVINCIAL_OFFICE, provinces=["64", "24"]), True),
    (principal(Role.NATIONAL), True),
])
def test_who_reads_a_job_of_a_clerk_of_6406_and_2401(caller, sees):
    uploader = Submitter("uploader", org_units=frozenset({"6406", "2401"}))
    assert may_read_job(caller, submitter=uploader) is sees


def test_a_job_without_a_recorded_uploader_is_nobodys_but_national():
    assert not may_read_job(principal(Role.INTAKE_CLERK, subject=""), submitter=Submitter(""))
    assert not may_read_job(principal(Role.PROVINCIAL_OFFICE, provinces=["64"]), submitter=Submitter(""))


# -- the routes


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    path = tmp_path_factory.mktemp("intake") / "intake.db"
    engine = create_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)  # what the lifespan would do; the lifespan also starts Kafka
    engine.dispose()
    settings = IntakeSettings(database_url=f"sqlite:///{path}", oidc=OidcSettings(issuer=ISSUER.issuer),
                              privacy=PrivacySettings(environment="test"))
    return TestClient(ISSUER.trust(build_app(settings)))


CLERK_6406 = ISSUER.headers("intake_clerk", subject="clerk-6406", org_units=("6406",))


@pytest.fixture(scope="module")
def intake(client):
    """An intake of org unit 6406 for a person living in Chachoengsao (24)."""
    body = intake_for(thai_national_id(random.Random(24)), subdistrict="240101")
    answer = client.post("/v1/intakes", json=body, headers=CLERK_6406)
    assert answer.status_code == 202, answer.text
    return answer.json()


def test_the_submitting_clerk_is_recorded_from_the_token(client, intake):
    shown = client.get(intake["status_url"], headers=CLERK_6406).json()
    assert shown["submitted_by"] == "clerk-6406"
    assert shown["source"]["reported_by"] == contract_example()["source"]["reported_by"], "kept as the field officer"


@pytest.mark.parametrize(("who", "headers"), [
    ("a clerk of the unit", CLERK_6406),
    ("a clerk of its province", ISSUER.headers("intake_clerk", subject="c64", provinces=("64",))),
    ("the office of the unit's province", ISSUER.headers("provincial_office", subject="p64", provinces=("64",))),
    ("the office of the person's province", ISSUER.headers("provincial_office", subject="p24", provinces=("24",))),
    ("national", ISSUER.headers("national", subject="n")),
])
def test_an_intake_is_read_within_scope(client, intake, who, headers):
    assert client.get(intake["status_url"], headers=headers).status_code == 200, who


@pytest.mark.parametrize(("who", "headers"), [
    ("a clerk of another unit", ISSUER.headers("intake_clerk", subject="c2401", org_units=("2401",))),
    ("a clerk of another unit of the province", ISSUER.headers("intake_clerk", subject="c6401", org_units=("6401",))),
    ("the office of another province", ISSUER.headers("provincial_office", subject="p40", provinces=("40",))),
])
def test_out_of_scope_an_intake_answers_exactly_like_one_that_does_not_exist(client, intake, who, headers):
    hidden = client.get(intake["status_url"], headers=headers)
    intake_id = intake["intake_id"]
    assert hidden.status_code == 404, who
    assert hidden.json() == {"detail": f"No intake with id {intake_id}"}
    missing = client.get("/v1/intakes/00000000-0000-0000-0000-000000000000", headers=headers)
    assert missing.json() == {"detail": "No intake with id 00000000-0000-0000-0000-000000000000"}


@pytest.mark.parametrize("role", ["agency_officer", "agency_head", "ops", "auditor"])
def test_other_roles_may_not_read_intakes_at_all(client, intake, role):
    headers = ISSUER.headers(role, subject="x", provinces=("64",), agency="employment")
    assert client.get(intake["status_url"], headers=headers).status_code == 403
    assert client.post("/v1/intakes", json=contract_example(), headers=headers).status_code == 403


def test_no_token_is_401(client, intake):
    answer = client.get(intake["status_url"])
    assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")


def test_a_clerk_of_a_province_submits_for_its_units_but_no_other(client):
    clerk_64 = ISSUER.headers("intake_clerk", subject="c64", provinces=("64",))
    body = intake_for(thai_national_id(random.Random(64)), needs=["wage_rights"])
    body["source"]["org_unit"] = "6401"
    assert client.post("/v1/intakes", json=body, headers=clerk_64).status_code == 202
    body["source"]["org_unit"] = "2401"
    refused = client.post("/v1/intakes", json=body, headers=clerk_64)
    assert refused.status_code == 403
    assert "the org units of province 64" in refused.json()["errors"][0]["reason"]


def test_an_idempotency_key_does_not_take_another_clerk_past_their_org_units(client):
    body = intake_for(thai_national_id(random.Random(7)), needs=["wage_rights"])
    key = {"Idempotency-Key": "office-6406-0001"}
    first = client.post("/v1/intakes", json=body, headers=CLERK_6406 | key)
    assert first.status_code == 202
    clerk_2401 = ISSUER.headers("intake_clerk", subject="c2401", org_units=("2401",))
    replayed = client.post("/v1/intakes", json=body, headers=clerk_2401 | key)
    assert replayed.status_code == 403 and first.json()["intake_id"] not in replayed.text
