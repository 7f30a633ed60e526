"""An agency whose own system reads its referrals straight from Kafka with its own login (the
example consumer, run as the agency's IT team would) and reports its moves back by the signed
callback: the whole Kafka-native path of docs/agency-it.md, against the secured broker."""

import json
import random

import httpx
import pytest

from tests.support.examples import intake_for, thai_national_id
from tests.support.stand_in_receivers import SignedRequests
from tests.support.agency_example import run_example_consumer
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

SECRET = "welfare-shared-secret-0123456789"


def example_consumer(kafka_cluster, kafka_env, *, agency: str, records: int) -> list[dict]:  # noqa: ANN001
    done = run_example_consumer(kafka_cluster, kafka_env, agency=agency, records=records)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_a_kafka_native_agency_reads_its_queue_and_reports_back_by_callback(
    start_service, kafka_cluster, kafka_env, identity,
):
    link = json.dumps({"welfare": {"secret": SECRET}})  # no url: nothing is pushed
    agency = start_service("agency-adapters", {"AGENCY_WEBHOOKS": link})
    start_service("reporting")
    start_service("routing")
    intake = start_service("intake")
    rng = random.Random(12)
    bodies = [intake_for(thai_national_id(rng), needs=["wage_rights", "job_registration"]) for _ in range(2)]
    for body in bodies:
        answer = httpx.post(f"{intake.url}/v1/intakes", json=body, timeout=10, auth=identity.auth("clerk-6406"))
        assert answer.status_code == 202, answer.text

    read = example_consumer(kafka_cluster, kafka_env, agency="welfare", records=2)
    assert {r["need_code"] for r in read} == {"wage_rights"}
    assert len({r["referral_id"] for r in read}) == 2

    system = SignedRequests(secret=SECRET)  # signs as the agency's own system does
    # On Kafka the person is sealed; the system reads them with a signed GET, which is audited.
    ids = {body["person"]["national_id"] for body in bodies}
    for referral in read:
        path = f"/v1/agency-systems/welfare/referrals/{referral['referral_id']}"
        answer = httpx.get(f"{agency.url}{path}", timeout=10, headers=system.sign(method="GET", path=path, body=b""))
        assert answer.status_code == 200, answer.text
        person = answer.json()["person"]
        assert person["national_id"] in ids and person["full_name"] and not person["erased"]
    unsigned = httpx.get(f"{agency.url}/v1/agency-systems/welfare/referrals/{read[0]['referral_id']}", timeout=10)
    assert unsigned.status_code == 401
    elsewhere = f"/v1/agency-systems/skills/referrals/{read[0]['referral_id']}"
    assert httpx.get(f"{agency.url}{elsewhere}", timeout=10,
                     headers=system.sign(method="GET", path=elsewhere, body=b"")).status_code == 404
    reads = httpx.get(f"{agency.url}/v1/audit/reads", params={"actor": "welfare-system"}, timeout=10,
                      auth=identity.auth("auditor")).json()["reads"]
    assert len(reads) == 2 and {r["people"] for r in reads} == {1}
    for referral in read:
        path = f"/v1/agency-systems/welfare/referrals/{referral['referral_id']}/status"
        body = json.dumps({"status": "accepted"}).encode()
        answer = httpx.post(f"{agency.url}{path}", content=body, timeout=10,
                            headers={"content-type": "application/json", **system.sign(method="POST", path=path, body=body)})
        assert answer.status_code == 200, answer.text

    officer = identity.auth("officer-welfare-64")
    queue = eventually(
        lambda: httpx.get(f"{agency.url}/v1/agencies/welfare/referrals", params={"status": "accepted"}, auth=officer).json(),
        until=lambda q: len(q["referrals"]) == 2, timeout=30)
    assert {r["referral_id"] for r in queue["referrals"]} == {r["referral_id"] for r in read}
    # Nothing was pushed: the link has no url.
    link_state = httpx.get(f"{agency.url}/v1/agencies/welfare/webhook", auth=identity.auth("ops")).json()
    assert link_state["url"] is None and sum(link_state["deliveries"].values()) == 0
    # The signed move still passes through the lifecycle: accepting twice is refused.
    path = f"/v1/agency-systems/welfare/referrals/{read[0]['referral_id']}/status"
    body = json.dumps({"status": "accepted"}).encode()
    again = httpx.post(f"{agency.url}{path}", content=body, timeout=10,
                       headers={"content-type": "application/json", **system.sign(method="POST", path=path, body=body)})
    assert again.status_code == 409 and "allowed_moves" in again.json()
