"""Every service as its own process, driven over HTTP as the offices and agencies would."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from shared.topics import Topics
from tests.support.examples import contract_example
from tests.support.kafka_io import read_topic
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(start_service):
    return start_service.stack("reporting", "agency-adapters", "routing", "intake")


CLERK, PROVINCE = "clerk-6406", "province-64"


def test_contract_example_reaches_the_monthly_report_under_its_agencies(stack, identity):
    intake, agency, reporting = stack["intake"], stack["agency-adapters"], stack["reporting"]
    answer = httpx.post(f"{intake.url}/v1/intakes", json=contract_example(), timeout=10, auth=identity.auth(CLERK))
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert len(accepted["referrals"]) == 4

    month = datetime.now(ZoneInfo("Asia/Bangkok")).strftime("%Y-%m")
    report = eventually(
        lambda: httpx.get(f"{reporting.url}/v1/reports/monthly", params={"province": "64", "month": month},
                          auth=identity.auth(PROVINCE)).json(),
        until=lambda r: r.get("total") == 4 and r["by_status"].get("received") == 4,
        timeout=30,
    )
    assert report["by_agency"] == {"employment": 1, "skills": 1, "welfare": 0, "social_security": 2}
    assert report["by_category"] == {"promote": 1, "develop": 1, "protect": 2}
    assert report["by_worker_type"] == {"informal": 4}

    # Intake follows the receipts on its own consumer, which may trail reporting's by a moment.
    eventually(lambda: httpx.get(f"{intake.url}/v1/intakes/{accepted['intake_id']}", auth=identity.auth(CLERK)).json(),
               until=lambda status: {r["status"] for r in status["referrals"]} == {"received"}, timeout=30)

    queue = httpx.get(f"{agency.url}/v1/agencies/social_security/referrals", params={"status": "received"},
                      auth=identity.auth("officer-social_security-64")).json()
    assert len(queue["referrals"]) == 2
    assert "program" not in str(queue) and "rehab_center" not in str(queue)

    # One correlation id, the intake's, follows the work through every service's log.
    for service in stack.values():
        lines = [json.loads(line) for line in service.log_path.read_text(errors="replace").splitlines() if line.startswith("{")]
        assert any(entry.get("correlation_id") == accepted["intake_id"] for entry in lines), service.name

    person = contract_example()["person"]
    for service in stack.values():
        log = service.log_path.read_text(errors="replace")
        metrics = httpx.get(f"{service.url}/metrics").text
        for secret in (person["national_id"], person["full_name"]):
            assert secret not in log, f"personal data in the {service.name} log"
            assert secret not in metrics, f"personal data in {service.name} metrics"


async def test_no_personal_data_in_kafka_keys_or_headers(stack, kafka_env, identity):
    intake = stack["intake"]
    answer = httpx.post(f"{intake.url}/v1/intakes", json=contract_example(), timeout=10, auth=identity.auth(CLERK))
    assert answer.status_code == 202
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    expected = {topics.intake_submitted: 1, topics.referral_updated: 4}
    for agency, count in {"employment": 1, "skills": 1, "welfare": 0, "social_security": 2}.items():
        expected[topics.referral_assigned(agency)] = count
    person = contract_example()["person"]
    seen = 0
    for topic, count in expected.items():
        records = await read_topic(kafka_env["KAFKA_BOOTSTRAP_SERVERS"], topic, expect=count, timeout=20 if count else 1)
        seen += len(records)
        for record in records:
            exposed = (record.key or b"").decode() + "".join(f"{k}={v.decode()}" for k, v in record.headers or ())
            for secret in (person["national_id"], person["full_name"]):
                assert secret not in exposed, f"personal data in a key or header on {topic}"
            if topic in topics.all_assigned():
                assert b"rehab_center" not in record.value, "the source programme reached an agency topic"
    assert seen == sum(expected.values())


def test_an_agency_moves_a_referral_and_the_report_follows(stack, identity):
    intake, agency, reporting = stack["intake"], stack["agency-adapters"], stack["reporting"]
    officer = identity.auth("officer-skills-64")
    accepted = httpx.post(f"{intake.url}/v1/intakes", json=contract_example(), timeout=10, auth=identity.auth(CLERK)).json()
    skills_id = next(r["referral_id"] for r in accepted["referrals"] if r["need_code"] == "skill_training")

    eventually(
        lambda: httpx.get(f"{agency.url}/v1/agencies/skills/referrals", auth=officer).json()["referrals"],
        until=lambda rows: any(r["referral_id"] == skills_id for r in rows),
        timeout=30,
    )
    refused = httpx.post(f"{agency.url}/v1/referrals/{skills_id}/status", json={"status": "completed"}, auth=officer)
    assert refused.status_code == 409
    assert refused.json()["allowed_moves"] == ["accepted", "cancelled", "declined", "transferred", "unreachable"]

    for move in ({"status": "accepted"}, {"status": "completed", "outcome_code": "enrolled", "details": {"course": "welding"}}):
        response = httpx.post(f"{agency.url}/v1/referrals/{skills_id}/status", json=move, auth=officer)
        assert response.status_code == 200, response.text

    month = datetime.now(ZoneInfo("Asia/Bangkok")).strftime("%Y-%m")
    eventually(
        lambda: httpx.get(f"{reporting.url}/v1/reports/monthly", params={"province": "64", "month": month},
                          auth=identity.auth(PROVINCE)).json(),
        until=lambda r: r.get("by_status", {}).get("completed") == 1,
        timeout=30,
    )
    eventually(
        lambda: httpx.get(f"{intake.url}/v1/intakes/{accepted['intake_id']}", auth=identity.auth(CLERK)).json()["referrals"],
        until=lambda rows: {r["referral_id"]: r["status"] for r in rows}[skills_id] == "completed",
        timeout=30,
    )


def test_a_bad_national_id_is_refused_and_every_service_serves_metrics(stack, identity):
    body = contract_example()
    body["person"]["national_id"] = "3640100456782"
    refused = httpx.post(f"{stack['intake'].url}/v1/intakes", json=body, auth=identity.auth(CLERK))
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["person.national_id"]

    for service in stack.values():
        metrics = httpx.get(f"{service.url}/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")
        assert "songtor_http_request_seconds" in metrics.text
        health = httpx.get(f"{service.url}/health").json()
        assert health["broker"]["connected"] is True
