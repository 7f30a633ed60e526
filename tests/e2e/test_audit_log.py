"""The audit log of personal data, from the running services: an agency listing and an SP-12
download each leave who, when, which route, which scope and how many people — and no name or
national ID — and the auditor finds both by the person, by the reader and by the period."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.examples import contract_example
from tests.support.identity import claims_of
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(start_service):
    return start_service.stack("reporting", "agency-adapters", "routing", "intake")


def audit_reads(service_url: str, identity, **params: str) -> list[dict]:  # noqa: ANN001
    answer = httpx.get(f"{service_url}/v1/audit/reads", params=params, auth=identity.auth("auditor"), timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["reads"]


def test_an_agency_listing_and_an_sp12_download_are_in_the_audit_log(stack, identity):
    intake, agency, reporting = stack["intake"], stack["agency-adapters"], stack["reporting"]
    person = contract_example()["person"]
    started = datetime.now(UTC) - timedelta(seconds=5)
    accepted = httpx.post(f"{intake.url}/v1/intakes", json=contract_example(), auth=identity.auth("clerk-6406"), timeout=10)
    assert accepted.status_code == 202, accepted.text

    officer = identity.auth("officer-employment-64")
    listed = eventually(
        lambda: httpx.get(f"{agency.url}/v1/agencies/employment/referrals", auth=officer, timeout=10).json()["referrals"],
        until=lambda rows: len(rows) == 1, timeout=30,
    )
    assert listed[0]["person"]["national_id"] == person["national_id"]

    month = datetime.now(ZoneInfo("Asia/Bangkok")).strftime("%Y-%m")
    sp12 = eventually(
        lambda: httpx.get(f"{reporting.url}/v1/reports/sp12", auth=identity.auth("province-64"), timeout=30,
                          params={"org_unit": "6406", "month": month, "format": "csv"}),
        until=lambda answer: answer.status_code == 200 and person["national_id"].encode() in answer.content, timeout=30,
    )
    assert sp12.status_code == 200

    officer_sub = claims_of(identity.token("officer-employment-64"))["sub"]
    province_sub = claims_of(identity.token("province-64"))["sub"]

    agency_reads = [r for r in audit_reads(agency.url, identity, actor="officer-employment-64")
                    if r["route"] == "/v1/agencies/{agency}/referrals"]
    last = agency_reads[0]  # newest first: the listing that found the referral
    assert last["actor"] == officer_sub and last["actor_name"] == "officer-employment-64"
    assert last["people"] == 1 and last["status"] == 200 and last["method"] == "GET"
    assert last["request_scope"]["agency"] == "employment"
    assert "employment" in last["caller_scope"] and "64" in last["caller_scope"]
    assert datetime.fromisoformat(last["at"]) >= started

    form_reads = [r for r in audit_reads(reporting.url, identity, actor=province_sub) if r["route"] == "/v1/reports/sp12"]
    assert form_reads and form_reads[0]["people"] == 1
    assert form_reads[0]["request_scope"] == {"org_unit": "6406", "month": month, "format": "csv"}

    # By the person: the ID goes in the body, is hashed there, and finds both reads.
    for service, route in ((agency, "/v1/agencies/{agency}/referrals"), (reporting, "/v1/reports/sp12")):
        found = httpx.post(f"{service.url}/v1/audit/reads/of-person", json={"national_id": person["national_id"]},
                           auth=identity.auth("auditor"), timeout=10)
        assert found.status_code == 200, found.text
        assert route in {r["route"] for r in found.json()["reads"]}
        stranger = httpx.post(f"{service.url}/v1/audit/reads/of-person", json={"national_id": "1100100000009"},
                              auth=identity.auth("auditor"), timeout=10)
        assert stranger.json()["reads"] == []

    # By the period: nothing before the test began.
    assert audit_reads(reporting.url, identity, until=started.isoformat()) == []

    # The log itself holds no personal data, and only the auditor reads it.
    for service in (agency, reporting, intake):
        text = httpx.get(f"{service.url}/v1/audit/reads", auth=identity.auth("auditor"), timeout=10).text
        assert person["national_id"] not in text and person["full_name"] not in text
        refused = httpx.get(f"{service.url}/v1/audit/reads", auth=identity.auth("province-64"), timeout=10)
        assert refused.status_code == 403
