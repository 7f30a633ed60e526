"""Consent to share, end to end (issue 11 item 5): a walk-in who said no to sharing reaches no
agency. Their needs for agencies are refused at intake with what to do instead; a service given
at intake is taken and referred nowhere; the agencies' queues, read by their own officers after
a consenting person's referral has gone all the way through, hold nothing of them."""

import copy
import random

import httpx
import pytest

from tests.support.examples import intake_for, thai_national_id
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

AGENCIES = ("employment", "skills", "welfare", "social_security")


def walk_in(national_id: str, *, needs: list[str], consent: bool) -> dict:
    body = copy.deepcopy(intake_for(national_id, needs=needs))
    body["source"]["program"] = "walk_in"
    body["consent"]["share_with_agencies"] = consent
    return body


def test_a_person_who_did_not_consent_reaches_no_agency(start_service, identity):
    agency = start_service("agency-adapters")
    start_service("routing")
    intake = start_service("intake")
    clerk = identity.auth("clerk-6406")
    rng = random.Random(11)
    declined, consented = thai_national_id(rng), thai_national_id(rng)

    refused = httpx.post(f"{intake.url}/v1/intakes", auth=clerk, timeout=30,
                         json=walk_in(declined, needs=["job_registration", "drug_prevention_outreach"], consent=False))
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert (error["field"], error["value"]) == ("consent.share_with_agencies", False)
    assert "cannot be referred: job_registration" in error["reason"]
    assert "Ask the person again" in error["reason"] and "served at intake (drug_prevention_outreach)" in error["reason"]
    assert "ไม่ยินยอม" in error["reason_th"]

    served = httpx.post(f"{intake.url}/v1/intakes", auth=clerk, timeout=30,
                        json=walk_in(declined, needs=["drug_prevention_outreach"], consent=False))
    assert served.status_code == 202, served.text
    assert served.json()["referrals"] == [] and served.json()["services_delivered_at_intake"] == [
        "drug_prevention_outreach"]
    shown = httpx.get(f"{intake.url}{served.json()['status_url']}", auth=clerk, timeout=30).json()
    assert shown["consent"]["share_with_agencies"] is False and shown["referrals"] == []

    control = httpx.post(f"{intake.url}/v1/intakes", auth=clerk, timeout=30,
                         json=walk_in(consented, needs=["job_registration"], consent=True))
    assert control.status_code == 202, control.text
    referral_id = control.json()["referrals"][0]["referral_id"]

    def queue(name: str) -> list[dict]:
        answer = httpx.get(f"{agency.url}/v1/agencies/{name}/referrals", params={"limit": 1000}, timeout=30,
                           auth=identity.auth(f"officer-{name}-64"))
        assert answer.status_code == 200, answer.text
        return answer.json()["referrals"]

    # The consenting person's referral went intake -> routing -> the agency: the pipeline ran.
    eventually(lambda: queue("employment"), until=lambda rows: any(r["referral_id"] == referral_id for r in rows),
               timeout=120)
    for name in AGENCIES:
        people = {r["person"]["national_id"] for r in queue(name)}
        assert declined not in people, f"{name} learned of a person who did not consent"
    assert consented in {r["person"]["national_id"] for r in queue("employment")}
