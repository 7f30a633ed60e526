"""Idempotent retries and dedupe against the person's open referrals, on both databases, as the
demo clerk of org unit 6406."""

import random

import httpx
import pytest

from tests.support.examples import contract_example, thai_national_id

pytestmark = pytest.mark.e2e


def test_a_retried_post_with_the_same_key_returns_the_first_answer(start_service, identity):
    intake = start_service("intake")
    clerk = identity.auth("clerk-6406")
    headers = {"Idempotency-Key": "rehab-6406-2026-11-02-0017"}
    first = httpx.post(f"{intake.url}/v1/intakes", json=contract_example(), headers=headers, auth=clerk)
    again = httpx.post(f"{intake.url}/v1/intakes", json=contract_example(), headers=headers, auth=clerk)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()

    other = contract_example()
    other["needs"] = [{"code": "wage_rights"}]
    reused = httpx.post(f"{intake.url}/v1/intakes", json=other, headers=headers, auth=clerk)
    assert reused.status_code == 409
    assert "different intake" in reused.json()["detail"]

    # The key is no way past the org units: a clerk of 2401 retrying it gets a 403, not the answer.
    other_clerk = identity.auth(identity.ensure_user("clerk-2401", roles=["intake_clerk"], org_units=["2401"]))
    elsewhere = httpx.post(f"{intake.url}/v1/intakes", json=contract_example(), headers=headers, auth=other_clerk)
    assert elsewhere.status_code == 403 and first.json()["intake_id"] not in elsewhere.text


def test_the_same_person_with_the_same_open_need_joins_the_open_referral(start_service, identity):
    intake = start_service("intake")
    clerk = identity.auth("clerk-6406")
    first = httpx.post(f"{intake.url}/v1/intakes", json=contract_example(), auth=clerk).json()
    opened = {r["need_code"]: r["referral_id"] for r in first["referrals"]}

    again = contract_example()
    again["needs"] = [{"code": "job_registration"}, {"code": "wage_rights"}]
    second = httpx.post(f"{intake.url}/v1/intakes", json=again, auth=clerk).json()

    assert second["joined_open_referrals"] == [
        {"need_code": "job_registration", "referral_id": opened["job_registration"]}
    ]
    assert [r["need_code"] for r in second["referrals"]] == ["wage_rights"]

    someone_else = contract_example()
    someone_else["person"]["national_id"] = thai_national_id(random.Random(1))
    third = httpx.post(f"{intake.url}/v1/intakes", json=someone_else, auth=clerk).json()
    assert third["joined_open_referrals"] == []
    assert len(third["referrals"]) == 4
