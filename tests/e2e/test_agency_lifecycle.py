"""The shared referral lifecycle, through the workbench API of the running services with the
project's Keycloak: officers move their agency's referrals to outcomes, the provincial office
cancels and transfers, each move is recorded under the token's subject, and nobody reads or
moves what is not theirs. The report follows."""

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.examples import contract_example
from tests.support.identity import claims_of
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e
OFFICERS = {name: f"officer-{name}-64" for name in ("employment", "skills", "social_security")}


@pytest.fixture
def referrals(start_service, identity):
    services = start_service.stack("reporting", "agency-adapters", "routing", "intake")
    answer = httpx.post(f"{services['intake'].url}/v1/intakes", json=contract_example(), auth=identity.auth("clerk-6406"))
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    by_need = {r["need_code"]: r["referral_id"] for r in accepted["referrals"]}
    agency = services["agency-adapters"].url
    for name, officer in OFFICERS.items():
        eventually(lambda: httpx.get(f"{agency}/v1/agencies/{name}/referrals", params={"status": "received"},
                                     auth=identity.auth(officer)).json()["referrals"],
                   until=lambda rows: len(rows) >= 1, timeout=30)
    return services, by_need, accepted["intake_id"]


def mover(url: str, identity):  # noqa: ANN001, ANN201
    def move(referral_id: str, user: str, **body) -> httpx.Response:  # noqa: ANN003
        return httpx.post(f"{url}/v1/referrals/{referral_id}/status", json=body, auth=identity.auth(user))
    return move


def subject(identity, user: str) -> str:  # noqa: ANN001
    return claims_of(identity.token(user))["sub"]


def test_a_referral_moves_to_a_coded_outcome_and_its_history_reads_in_order(referrals, identity):
    services, by_need, intake_id = referrals
    agency = services["agency-adapters"].url
    move, job, officer = mover(agency, identity), by_need["job_registration"], OFFICERS["employment"]

    assert move(job, officer, status="completed", outcome_code="placed").status_code == 409  # not accepted yet
    forged = move(job, officer, status="accepted", actor="officer-0042")
    assert forged.status_code == 422 and "actor" in forged.text, "who moved it is the token's, not the body's"
    assert move(job, officer, status="accepted").status_code == 200
    assert move(job, "head-employment-64", status="in_progress", note="interview booked").status_code == 200
    wrong = move(job, officer, status="completed", outcome_code="enrolled")
    assert wrong.status_code == 422 and "not one of employment's outcomes" in wrong.json()["errors"][0]
    incomplete = move(job, officer, status="completed", outcome_code="placed", details={"employer": "บจก. สุโขทัยการเกษตร"})
    assert incomplete.status_code == 422
    done = move(job, officer, status="completed", outcome_code="placed",
                details={"employer": "บจก. สุโขทัยการเกษตร", "position": "ช่างเชื่อม", "monthly_wage": 9800})
    assert done.status_code == 200, done.text

    moves = httpx.get(f"{agency}/v1/referrals/{job}/history", auth=identity.auth(officer)).json()["moves"]
    assert [m["status"] for m in moves] == ["assigned", "received", "accepted", "in_progress", "completed"]
    assert [m["version"] for m in moves] == [1, 2, 3, 4, 5]
    assert moves[2]["actor"] == moves[4]["actor"] == subject(identity, officer)
    assert moves[3]["actor"] == subject(identity, "head-employment-64")
    assert moves[-1]["details"]["monthly_wage"] == 9800 and moves[3]["note"] == "interview booked"
    assert httpx.get(f"{agency}/v1/referrals/{job}/history", auth=identity.auth("national")).status_code == 200

    intake = services["intake"].url
    eventually(lambda: {r["referral_id"]: r["status"] for r in httpx.get(
                   f"{intake}/v1/intakes/{intake_id}", auth=identity.auth("clerk-6406")).json()["referrals"]},
               until=lambda statuses: statuses[job] == "completed", timeout=30)


def test_the_skills_officer_cannot_see_or_move_an_employment_referral(referrals, identity):
    services, by_need, _intake_id = referrals
    agency = services["agency-adapters"].url
    move, job, skills = mover(agency, identity), by_need["job_registration"], OFFICERS["skills"]

    listed = httpx.get(f"{agency}/v1/agencies/employment/referrals", auth=identity.auth(skills))
    assert listed.status_code == 403 and "employment's queue" in listed.json()["detail"]
    absent_move = move("00000000-0000-4000-8000-00000000dead", skills, status="accepted")
    hidden_move = move(job, skills, status="accepted")
    assert (hidden_move.status_code, absent_move.status_code) == (404, 404)
    assert hidden_move.json()["detail"] == absent_move.json()["detail"].replace("00000000-0000-4000-8000-00000000dead", job)
    assert move(job, skills, status="cancelled", reason="Entered twice by the office").status_code == 404
    hidden_history = httpx.get(f"{agency}/v1/referrals/{job}/history", auth=identity.auth(skills))
    assert hidden_history.status_code == 404

    # Their own referral they see and accept, but cancelling it is the provincial office's.
    training = by_need["skill_training"]
    assert move(training, skills, status="accepted").status_code == 200
    refused = move(training, skills, status="cancelled", reason="Entered twice by the office")
    assert refused.status_code == 403 and "provincial office of province 64" in refused.json()["detail"]
    rows = httpx.get(f"{agency}/v1/agencies/skills/referrals", auth=identity.auth(skills)).json()["referrals"]
    assert [r["referral_id"] for r in rows] == [training] and rows[0]["province_code"] == "64"
    # The referral untouched by all of it.
    statuses = [m["status"] for m in httpx.get(f"{agency}/v1/referrals/{job}/history",
                                               auth=identity.auth(OFFICERS["employment"])).json()["moves"]]
    assert statuses == ["assigned", "received"]


def test_a_transfer_by_the_provincial_office_opens_a_linked_referral_at_the_other_agency(referrals, identity):
    services, by_need, intake_id = referrals
    agency, reporting = services["agency-adapters"].url, services["reporting"].url
    move, training = mover(agency, identity), by_need["skill_training"]
    identity.ensure_user("province-24", roles=["provincial_office"], provinces=["24"])

    by_officer = move(training, OFFICERS["skills"], status="transferred", to_agency="employment",
                      reason="Wants a welding job now, training later")
    assert by_officer.status_code == 403 and "provincial office" in by_officer.json()["detail"]
    assert move(training, "province-24", status="transferred", to_agency="employment",
                reason="Wants a welding job now, training later").status_code == 404
    assert move(training, "province-64", status="transferred", to_agency="skills", reason="same agency").status_code == 422
    moved = move(training, "province-64", status="transferred", to_agency="employment",
                 reason="Wants a welding job now, training later")
    assert moved.status_code == 200, moved.text
    new_id = moved.json()["transferred_to"]
    last = httpx.get(f"{agency}/v1/referrals/{training}/history", auth=identity.auth("province-64")).json()["moves"][-1]
    assert (last["status"], last["actor"]) == ("transferred", subject(identity, "province-64"))

    employment = eventually(
        lambda: httpx.get(f"{agency}/v1/agencies/employment/referrals",
                          auth=identity.auth(OFFICERS["employment"])).json()["referrals"],
        until=lambda rows: any(r["referral_id"] == new_id for r in rows), timeout=30,
    )
    continuation = next(r for r in employment if r["referral_id"] == new_id)
    assert continuation["transferred_from"] == training and continuation["province_code"] == "64"
    assert continuation["need_code"] == "skill_training" and continuation["status"] == "received"
    assert httpx.get(f"{agency}/v1/agencies/employment/referrals",
                     auth=identity.auth("province-24")).json()["referrals"] == []

    month = datetime.now(ZoneInfo("Asia/Bangkok")).strftime("%Y-%m")
    report = eventually(
        lambda: httpx.get(f"{reporting}/v1/reports/monthly", params={"province": "64", "month": month},
                          auth=identity.auth("province-64")).json(),
        until=lambda r: r.get("by_status", {}).get("transferred") == 1 and r["total"] == 5, timeout=30,
    )
    assert report["by_agency"]["employment"] == 2  # the job registration and the continuation

    intake = services["intake"].url
    statuses = eventually(
        lambda: {r["referral_id"]: r["status"] for r in httpx.get(
            f"{intake}/v1/intakes/{intake_id}", auth=identity.auth("clerk-6406")).json()["referrals"]},
        until=lambda s: s.get(training) == "transferred" and new_id in s, timeout=30,
    )
    assert statuses[new_id] in ("assigned", "received")


def test_declining_and_cancelling_need_their_reasons(referrals, identity):
    services, by_need, _intake_id = referrals
    agency = services["agency-adapters"].url
    move, officer = mover(agency, identity), OFFICERS["social_security"]
    enrol, check = by_need["ss_article40_enrolment"], by_need["ss_article33_benefit_check"]

    assert move(enrol, officer, status="declined", reason_code="too_busy").status_code == 422
    assert move(enrol, officer, status="declined", reason_code="person_refused").status_code == 200
    assert move(check, officer, status="cancelled", reason="Entered twice by the office").status_code == 403
    assert move(check, "province-64", status="cancelled").status_code == 422
    assert move(check, "province-64", status="cancelled", reason="Entered twice by the office").status_code == 200
    assert move(check, officer, status="accepted").json()["allowed_moves"] == []
    outcomes = httpx.get(f"{agency}/v1/agencies/social_security/outcomes", auth=identity.auth("officer-employment-64")).json()
    assert {o["code"] for o in outcomes["outcomes"]} >= {"enrolled_article40", "benefit_eligible", "not_eligible"}
