"""Routing that its readers can read back: explanations, province overrides, and triage of needs
no rule matched by the provincial office — each service as its own process, each caller with
their Keycloak token, and nobody reading or triaging outside their province."""

import httpx
import pytest

from shared.catalog import DEFAULT_CATALOG_PATH
from shared.topics import Topics
from tests.support.examples import contract_example, intake_event, intake_for
from tests.support.identity import claims_of
from tests.support.kafka_io import produce
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


def _queue(agency_url: str, agency: str, identity) -> list[dict]:  # noqa: ANN001
    return httpx.get(f"{agency_url}/v1/agencies/{agency}/referrals",
                     auth=identity.auth(f"officer-{agency}-64")).json()["referrals"]


def _submit(intake_url: str, identity, body: dict) -> dict:  # noqa: ANN001
    answer = httpx.post(f"{intake_url}/v1/intakes", json=body, auth=identity.auth("clerk-6406"))
    assert answer.status_code == 202, answer.text
    return answer.json()


def test_every_referral_says_which_rule_routed_it(start_service, identity):
    routing = start_service("routing")
    intake = start_service("intake")
    identity.ensure_user("province-24", roles=["provincial_office"], provinces=["24"])
    accepted = _submit(intake.url, identity, contract_example())
    for referral in accepted["referrals"]:
        url = f"{routing.url}/v1/referrals/{referral['referral_id']}/routing"
        explained = eventually(
            lambda: httpx.get(url, auth=identity.auth("province-64")),
            until=lambda r: r.status_code == 200,
            timeout=30,
        ).json()
        assert explained["rule"] == f"need:{referral['need_code']}"
        assert explained["catalog_version"]
        assert explained["state"] == "routed"
        assert explained["agency"] in explained["explanation"]
        assert len(explained["history"]) == 1
        assert httpx.get(url, auth=identity.auth("national")).status_code == 200
        # The agency it went to reads why; another agency and another province do not learn it exists.
        assert httpx.get(url, auth=identity.auth(f"officer-{explained['agency']}-64")).status_code == 200
        assert httpx.get(url, auth=identity.auth("province-24")).status_code == 404
    job = next(r["referral_id"] for r in accepted["referrals"] if r["need_code"] == "job_registration")
    hidden = httpx.get(f"{routing.url}/v1/referrals/{job}/routing", auth=identity.auth("officer-skills-64"))
    absent = httpx.get(f"{routing.url}/v1/referrals/not-a-referral/routing", auth=identity.auth("officer-skills-64"))
    assert (hidden.status_code, absent.status_code) == (404, 404)
    assert hidden.json()["detail"] == absent.json()["detail"].replace("not-a-referral", job)
    assert httpx.get(f"{routing.url}/v1/referrals/{job}/routing", auth=identity.auth("clerk-6406")).status_code == 403


def test_a_province_override_sends_a_need_to_another_agency(start_service, tmp_path, identity):
    catalog = tmp_path / "needs.toml"
    catalog.write_text(
        DEFAULT_CATALOG_PATH.read_text(encoding="utf-8").replace('version = "', 'version = "override-test-', 1)
        + '\n[[province_overrides]]\nprovince = "64"\nneed = "ss_article40_enrolment"\nagency = "welfare"\n'
        'reason = "Sukhothai pilot: the welfare office enrols Article 40 at its desk"\n',
        encoding="utf-8",
    )
    env = {"SONGTOR_CATALOG_PATH": str(catalog)}
    agency = start_service("agency-adapters")
    routing = start_service("routing", env)
    intake = start_service("intake", env)
    accepted = _submit(intake.url, identity, contract_example())
    enrolment = next(r["referral_id"] for r in accepted["referrals"] if r["need_code"] == "ss_article40_enrolment")

    welfare = eventually(lambda: _queue(agency.url, "welfare", identity), until=lambda rows: len(rows) == 1, timeout=30)
    assert welfare[0]["referral_id"] == enrolment
    explained = httpx.get(f"{routing.url}/v1/referrals/{enrolment}/routing", auth=identity.auth("officer-welfare-64")).json()
    assert explained["rule"] == "province:64/need:ss_article40_enrolment"
    assert explained["catalog_version"].startswith("override-test-")
    assert "Sukhothai pilot" in explained["explanation"]
    ss = eventually(lambda: _queue(agency.url, "social_security", identity), until=lambda rows: len(rows) == 1, timeout=30)
    assert ss[0]["need_code"] == "ss_article33_benefit_check"


async def test_an_unroutable_need_is_triaged_by_hand_and_reaches_the_agency(start_service, kafka_env, identity):
    agency = start_service("agency-adapters")
    routing = start_service("routing")
    identity.ensure_user("province-24", roles=["provincial_office"], provinces=["24"])
    # Intakes from units whose catalog knows a code this one does not (version skew): one of a
    # person in Sukhothai (64), one of a person in Chachoengsao (24).
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    for intake_id, body in (("0a0a0a0a-0000-4000-8000-000000000042", None),
                            ("0a0a0a0a-0000-4000-8000-000000000024", intake_for("1240100012341", subdistrict="240101"))):
        base = intake_event(body, intake_id=intake_id)
        skewed = base.model_copy(update={"needs": (base.needs[0].model_copy(update={"code": "tractor_licence"}),)})
        await produce(kafka_env["KAFKA_BOOTSTRAP_SERVERS"], topics.intake_submitted,
                      [(skewed.intake_id.encode(), skewed.model_dump_json().encode())])

    def waiting_for(user: str) -> list[dict]:
        return httpx.get(f"{routing.url}/v1/unroutable", auth=identity.auth(user)).json()["unroutable"]

    eventually(lambda: waiting_for("national"), until=lambda rows: len(rows) == 2, timeout=30)
    waiting = waiting_for("province-64")
    assert len(waiting) == 1 and waiting[0]["province_code"] == "64"
    waiting = waiting[0]
    assert waiting["need_code"] == "tractor_licence"
    assert "not in need catalog" in waiting["explanation"]
    assert [row["province_code"] for row in waiting_for("province-24")] == ["24"]
    assert httpx.get(f"{routing.url}/v1/unroutable", auth=identity.auth("officer-skills-64")).status_code == 403

    url = f"{routing.url}/v1/unroutable/{waiting['referral_id']}/route"
    office = identity.auth("province-64")
    triage = {"agency": "skills", "category": "develop", "reason": "Tractor driving is a skills course"}
    assert httpx.post(url, json=triage, auth=identity.auth("province-24")).status_code == 404
    assert httpx.post(url, json=triage, auth=identity.auth("national")).status_code == 403
    assert httpx.post(url, json=triage, auth=identity.auth("officer-skills-64")).status_code == 403
    no_category = httpx.post(url, json={"agency": "skills", "reason": "driving course"}, auth=office)
    assert no_category.status_code == 422
    forged = httpx.post(url, json={**triage, "actor": "officer-0017"}, auth=office)
    assert forged.status_code == 422 and "actor" in forged.text
    routed = httpx.post(url, json=triage, auth=office)
    assert routed.status_code == 200, routed.text
    province_64 = claims_of(identity.token("province-64"))["sub"]
    assert routed.json()["decided_by"] == province_64
    assert [(h["state"], h["by"]) for h in routed.json()["history"]] == [("unroutable", "routing"), ("triaged", province_64)]
    again = httpx.post(url, json={"agency": "welfare", "category": "protect", "reason": "again"}, auth=office)
    assert again.status_code == 409

    skills = eventually(lambda: _queue(agency.url, "skills", identity), until=lambda rows: len(rows) == 1, timeout=30)
    assert skills[0]["referral_id"] == waiting["referral_id"] and skills[0]["province_code"] == "64"
    assert waiting_for("province-64") == []
    assert len(waiting_for("province-24")) == 1
