"""The shared referral lifecycle, through the workbench API of the running services: moves with
outcomes and reasons, transfer to another agency, history, and the report following."""

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.examples import contract_example
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def referrals(start_service):
    services = {name: start_service(name) for name in ("reporting", "agency-adapters", "routing", "intake")}
    accepted = httpx.post(f"{services['intake'].url}/v1/intakes", json=contract_example()).json()
    by_need = {r["need_code"]: r["referral_id"] for r in accepted["referrals"]}
    agency = services["agency-adapters"].url
    for name in ("employment", "skills", "social_security"):
        eventually(lambda: httpx.get(f"{agency}/v1/agencies/{name}/referrals", params={"status": "received"}).json()["referrals"],
                   until=lambda rows: len(rows) >= 1, timeout=30)
    return services, by_need, accepted["intake_id"]


def move(url: str, referral_id: str, **body) -> httpx.Response:  # noqa: ANN003
    return httpx.post(f"{url}/v1/referrals/{referral_id}/status", json={"actor": "officer-0042", **body})


def test_a_referral_moves_to_a_coded_outcome_and_its_history_reads_in_order(referrals):
    services, by_need, intake_id = referrals
    agency = services["agency-adapters"].url
    job = by_need["job_registration"]

    assert move(agency, job, status="completed", outcome_code="placed").status_code == 409  # not accepted yet
    assert move(agency, job, status="accepted").status_code == 200
    assert move(agency, job, status="in_progress", note="interview booked").status_code == 200
    wrong = move(agency, job, status="completed", outcome_code="enrolled")
    assert wrong.status_code == 422 and "not one of employment's outcomes" in wrong.json()["errors"][0]
    incomplete = move(agency, job, status="completed", outcome_code="placed", details={"employer": "บจก. สุโขทัยการเกษตร"})
    assert incomplete.status_code == 422
    done = move(agency, job, status="completed", outcome_code="placed",
                details={"employer": "บจก. สุโขทัยการเกษตร", "position": "ช่างเชื่อม", "monthly_wage": 9800})
    assert done.status_code == 200, done.text

    moves = httpx.get(f"{agency}/v1/referrals/{job}/history").json()["moves"]
    assert [m["status"] for m in moves] == ["assigned", "received", "accepted", "in_progress", "completed"]
    assert [m["version"] for m in moves] == [1, 2, 3, 4, 5]
    assert moves[-1]["actor"] == "officer-0042" and moves[-1]["details"]["monthly_wage"] == 9800
    assert moves[3]["note"] == "interview booked"

    intake = services["intake"].url
    eventually(lambda: {r["referral_id"]: r["status"] for r in httpx.get(f"{intake}/v1/intakes/{intake_id}").json()["referrals"]},
               until=lambda statuses: statuses[job] == "completed", timeout=30)


def test_a_transfer_opens_a_linked_referral_at_the_other_agency(referrals):
    services, by_need, intake_id = referrals
    agency, reporting = services["agency-adapters"].url, services["reporting"].url
    training = by_need["skill_training"]

    assert move(agency, training, status="transferred", to_agency="skills", reason="same agency").status_code == 422
    moved = move(agency, training, status="transferred", to_agency="employment",
                 reason="Wants a welding job now, training later")
    assert moved.status_code == 200, moved.text
    new_id = moved.json()["transferred_to"]

    employment = eventually(
        lambda: httpx.get(f"{agency}/v1/agencies/employment/referrals").json()["referrals"],
        until=lambda rows: any(r["referral_id"] == new_id for r in rows), timeout=30,
    )
    continuation = next(r for r in employment if r["referral_id"] == new_id)
    assert continuation["transferred_from"] == training
    assert continuation["need_code"] == "skill_training" and continuation["status"] == "received"

    month = datetime.now(ZoneInfo("Asia/Bangkok")).strftime("%Y-%m")
    report = eventually(
        lambda: httpx.get(f"{reporting}/v1/reports/monthly", params={"province": "64", "month": month}).json(),
        until=lambda r: r.get("by_status", {}).get("transferred") == 1 and r["total"] == 5, timeout=30,
    )
    assert report["by_agency"]["employment"] == 2  # the job registration and the continuation

    intake = services["intake"].url
    statuses = eventually(
        lambda: {r["referral_id"]: r["status"] for r in httpx.get(f"{intake}/v1/intakes/{intake_id}").json()["referrals"]},
        until=lambda s: s.get(training) == "transferred" and new_id in s, timeout=30,
    )
    assert statuses[new_id] in ("assigned", "received")


def test_declining_and_cancelling_need_their_reasons(referrals):
    services, by_need, _intake_id = referrals
    agency = services["agency-adapters"].url
    enrol, check = by_need["ss_article40_enrolment"], by_need["ss_article33_benefit_check"]

    assert move(agency, enrol, status="declined", reason_code="too_busy").status_code == 422
    assert move(agency, enrol, status="declined", reason_code="person_refused").status_code == 200
    assert move(agency, check, status="cancelled").status_code == 422
    assert move(agency, check, status="cancelled", reason="Entered twice by the office").status_code == 200
    assert move(agency, check, status="accepted").json()["allowed_moves"] == []
    outcomes = httpx.get(f"{agency}/v1/agencies/social_security/outcomes").json()
    assert {o["code"] for o in outcomes["outcomes"]} >= {"enrolled_article40", "benefit_eligible", "not_eligible"}
