"""Routing that anyone can read back: explanations, province overrides, and triage of needs no
rule matched — each service as its own process."""

import httpx
import pytest

from shared.catalog import DEFAULT_CATALOG_PATH
from shared.topics import Topics
from tests.support.examples import contract_example, intake_event
from tests.support.kafka_io import produce
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


def _queue(agency_url: str, agency: str) -> list[dict]:
    return httpx.get(f"{agency_url}/v1/agencies/{agency}/referrals").json()["referrals"]


def test_every_referral_says_which_rule_routed_it(start_service):
    routing = start_service("routing")
    intake = start_service("intake")
    accepted = httpx.post(f"{intake.url}/v1/intakes", json=contract_example()).json()
    for referral in accepted["referrals"]:
        explained = eventually(
            lambda: httpx.get(f"{routing.url}/v1/referrals/{referral['referral_id']}/routing"),
            until=lambda r: r.status_code == 200,
            timeout=30,
        ).json()
        assert explained["rule"] == f"need:{referral['need_code']}"
        assert explained["catalog_version"]
        assert explained["state"] == "routed"
        assert explained["agency"] in explained["explanation"]
        assert len(explained["history"]) == 1


def test_a_province_override_sends_a_need_to_another_agency(start_service, tmp_path):
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
    accepted = httpx.post(f"{intake.url}/v1/intakes", json=contract_example()).json()
    enrolment = next(r["referral_id"] for r in accepted["referrals"] if r["need_code"] == "ss_article40_enrolment")

    welfare = eventually(lambda: _queue(agency.url, "welfare"), until=lambda rows: len(rows) == 1, timeout=30)
    assert welfare[0]["referral_id"] == enrolment
    explained = httpx.get(f"{routing.url}/v1/referrals/{enrolment}/routing").json()
    assert explained["rule"] == "province:64/need:ss_article40_enrolment"
    assert explained["catalog_version"].startswith("override-test-")
    assert "Sukhothai pilot" in explained["explanation"]
    ss = eventually(lambda: _queue(agency.url, "social_security"), until=lambda rows: len(rows) == 1, timeout=30)
    assert ss[0]["need_code"] == "ss_article33_benefit_check"


async def test_an_unroutable_need_is_triaged_by_hand_and_reaches_the_agency(start_service, kafka_env):
    agency = start_service("agency-adapters")
    routing = start_service("routing")
    # An intake from a unit whose catalog knows a code this one does not (version skew).
    base = intake_event(intake_id="0a0a0a0a-0000-4000-8000-000000000042")
    skewed = base.model_copy(update={"needs": (base.needs[0].model_copy(update={"code": "tractor_licence"}),)})
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    await produce(kafka_env["KAFKA_BOOTSTRAP_SERVERS"], topics.intake_submitted,
                  [(skewed.intake_id.encode(), skewed.model_dump_json().encode())])

    waiting = eventually(
        lambda: httpx.get(f"{routing.url}/v1/unroutable").json()["unroutable"], until=lambda rows: len(rows) == 1, timeout=30
    )[0]
    assert waiting["need_code"] == "tractor_licence"
    assert "not in need catalog" in waiting["explanation"]

    url = f"{routing.url}/v1/unroutable/{waiting['referral_id']}/route"
    no_category = httpx.post(url, json={"agency": "skills", "reason": "driving course", "actor": "officer-0017"})
    assert no_category.status_code == 422
    routed = httpx.post(url, json={"agency": "skills", "category": "develop",
                                   "reason": "Tractor driving is a skills course", "actor": "officer-0017"})
    assert routed.status_code == 200, routed.text
    assert [h["state"] for h in routed.json()["history"]] == ["unroutable", "triaged"]
    assert httpx.post(url, json={"agency": "welfare", "category": "protect", "reason": "again", "actor": "x"}).status_code == 409

    skills = eventually(lambda: _queue(agency.url, "skills"), until=lambda rows: len(rows) == 1, timeout=30)
    assert skills[0]["referral_id"] == waiting["referral_id"]
    assert httpx.get(f"{routing.url}/v1/unroutable").json()["unroutable"] == []
