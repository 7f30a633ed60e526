"""The national feed to บสต., end to end: a stand-in national system runs as its own HTTP process
(tests/support/fake_national_system.py: it deduplicates only by delivery_id and checks each
person's order) and accepts, fails, hangs and refuses on command. Records of consented
rehabilitation and CI-centre people arrive in order with their outcomes; nothing for anyone else;
a withdrawal stops the feed; an outage parks and an operator's re-drive sends each record once;
kill -9 of reporting mid-delivery leaves no gap and no duplicate; a backfill run twice adds
nothing the second time."""

import asyncio
import json
import random
import time

import httpx
import pytest
from sqlmodel import select

from reporting.national_feed.models import FeedPerson
from shared.db import make_engine, session_factory
from tests.e2e.test_ops_queues import ops_page
from tests.support.browser import table_rows
from tests.support.examples import intake_for, thai_national_id
from tests.support.personal_data import database_of
from tests.support.polling import eventually
from tests.support.processes import kafka_login, run_module, stand_in

pytestmark = pytest.mark.e2e
SECRET = "oncb-national-system-secret-01"


class NationalSystem:
    def __init__(self, url: str) -> None:
        self.url = url

    def set_mode(self, mode: str) -> None:
        httpx.post(f"{self.url}/_mode", json={"mode": mode}).raise_for_status()

    def records(self) -> list[dict]:
        return httpx.get(f"{self.url}/_records").json()["records"]

    def log(self) -> list[dict]:
        return httpx.get(f"{self.url}/_log").json()["log"]

    def problems(self) -> list[str]:
        return httpx.get(f"{self.url}/_problems").json()["problems"]

    def of(self, national_id: str) -> list[dict]:
        """The records of the person with this ID, in the order they were kept."""
        kept = self.records()
        ids = {r["person_id"] for r in kept if r["kind"] == "person" and r["person"]["national_id"] == national_id}
        return [r for r in kept if r["person_id"] in ids]


@pytest.fixture
def national(artifacts_dir):
    with stand_in("tests.support.fake_national_system", secret=SECRET, slow_seconds=2,
                  log=artifacts_dir / "fake-national-system.log", probe="/_records") as url:
        yield NationalSystem(url)


def feed_env(system: NationalSystem, *, org_units: list[str], **target: object) -> dict[str, str]:
    return {"NATIONAL_FEED_TARGET": json.dumps({
        "url": f"{system.url}/bsd/records", "secret": SECRET, "timeout_seconds": 1, "max_attempts": 3,
        "backoff_base_seconds": 0.2, "backoff_cap_seconds": 0.4, "breaker_failures": 50, "concurrency": 4, **target}),
        "NATIONAL_FEED_ORG_UNITS": json.dumps(org_units), "NATIONAL_FEED_SCAN_SECONDS": "0.2"}


def person(seed: int, *, program: str = "rehab_center", org_unit: str = "6406", national: bool | None = True,
           needs: tuple[str, ...] = ("job_registration", "skill_training")) -> dict:
    body = intake_for(thai_national_id(random.Random(seed)), needs=list(needs))
    body["source"].update(program=program, org_unit=org_unit)
    if national is not None:
        body["consent"]["share_with_national_system"] = national
    return body


def take_in(intake, identity, body: dict, *, clerk: str = "clerk-6406") -> dict:  # noqa: ANN001
    answer = httpx.post(f"{intake.url}/v1/intakes", json=body, timeout=10, auth=identity.auth(clerk))
    assert answer.status_code == 202, answer.text
    return {r["need_code"]: r["referral_id"] for r in answer.json()["referrals"]}


def move(agency, identity, referral_id: str, officer: str, **body: object) -> None:  # noqa: ANN001
    answer = httpx.post(f"{agency.url}/v1/referrals/{referral_id}/status", json=body, timeout=10, auth=identity.auth(officer))
    assert answer.status_code == 200, answer.text


def statuses(records: list[dict], referral_id: str) -> list[str]:
    return [r["assistance"]["status"] for r in records if r["kind"] == "assistance" and r["assistance"]["assistance_id"] == referral_id]


def test_consented_rehab_and_ci_people_arrive_in_order_and_nobody_else_and_a_withdrawal_stops_it(
        start_service, identity, national):
    stack = start_service.stack("agency-adapters", "routing", "intake")
    reporting = start_service("reporting", feed_env(national, org_units=["6406", "2401"]))
    intake, agency = stack["intake"], stack["agency-adapters"]
    rehab, ci = person(1), person(2, program="ci_center", org_unit="2401", needs=("job_registration",))
    said_no, not_asked, walk_in = person(3, national=False), person(4, national=None), person(5, program="walk_in", national=None)
    rehab_refs = take_in(intake, identity, rehab)
    ci_refs = take_in(intake, identity, ci, clerk="clerk-2401")
    for body in (said_no, not_asked, walk_in):
        take_in(intake, identity, body)
    job = rehab_refs["job_registration"]
    officer = "officer-employment-64"
    eventually(lambda: statuses(national.of(rehab["person"]["national_id"]), job), until=lambda s: "received" in s, timeout=60)
    move(agency, identity, job, officer, status="accepted")
    move(agency, identity, job, officer, status="completed", outcome_code="placed",
         details={"employer": "บจก. สุโขทัยการเกษตร", "position": "พนักงานขับรถ", "monthly_wage": 9500})

    mine = eventually(lambda: national.of(rehab["person"]["national_id"]), timeout=60,
                      until=lambda r: statuses(r, job)[-1:] == ["completed"]
                      and statuses(r, rehab_refs["skill_training"]) == ["assigned", "received"])
    assert [r["sequence"] for r in mine] == list(range(1, len(mine) + 1)), "in order, without a gap"
    assert mine[0]["kind"] == "person" and mine[0]["person"]["full_name"] == rehab["person"]["full_name"]
    assert mine[0]["centre"] == {"org_unit": "6406", "program": "rehab_center"}
    assert statuses(mine, job) == ["assigned", "received", "accepted", "completed"]
    done = next(r for r in mine if r["kind"] == "assistance" and r["assistance"]["status"] == "completed")
    assert done["assistance"]["outcome"]["code"] == "placed" and done["assistance"]["outcome"]["details"]["monthly_wage"] == 9500
    assert done["assistance"]["outcome"]["national_category"]["code"] == "occupation"
    accepted = next(r for r in mine if r["kind"] == "assistance" and r["assistance"]["status"] == "accepted")
    assert done["replaces"] == accepted["delivery_id"], "the outcome corrects the help already sent"
    theirs = eventually(lambda: national.of(ci["person"]["national_id"]), until=lambda r: len(r) == 3, timeout=60)
    assert theirs[0]["centre"] == {"org_unit": "2401", "program": "ci_center"}
    sent_ids = {r["person"]["national_id"] for r in national.records() if r["kind"] == "person"}
    assert sent_ids == {rehab["person"]["national_id"], ci["person"]["national_id"]}, "nobody else"

    # The CI person withdraws: a later move of theirs is not sent; the rehab person's still is.
    withdrawn = httpx.post(f"{intake.url}/v1/consents/national-system/withdrawals", timeout=10, auth=identity.auth("clerk-2401"),
                           json={"national_id": ci["person"]["national_id"], "reason": "ขอถอนความยินยอม 2026/12"})
    assert withdrawn.status_code == 202, withdrawn.text
    eventually(lambda: asyncio.run(_withdrawn_at(database_of(reporting))), until=bool, timeout=30)
    move(agency, identity, ci_refs["job_registration"], officer, status="accepted")
    move(agency, identity, rehab_refs["skill_training"], "officer-skills-64", status="accepted")
    eventually(lambda: statuses(national.of(rehab["person"]["national_id"]), rehab_refs["skill_training"]),
               until=lambda s: s[-1:] == ["accepted"], timeout=60)
    time.sleep(2)  # the CI person's move had as long to arrive, on the same consumers
    assert len(national.of(ci["person"]["national_id"])) == 3
    assert national.problems() == []
    status = httpx.get(f"{reporting.url}/v1/national-feed", auth=identity.auth("ops"), timeout=10).json()
    assert status["enabled"] and status["by_state"]["parked"] == 0 and status["circuit"]["state"] == "closed"


async def _withdrawn_at(url: str):  # noqa: ANN202
    """When the feed learnt of the withdrawal (person.consents, read by its own group)."""
    engine = make_engine(url)
    try:
        async with session_factory(engine)() as session:
            rows = (await session.exec(select(FeedPerson.withdrawn_at))).all()
        return [at for at in rows if at is not None]
    finally:
        await engine.dispose()


def parked_records(reporting, identity) -> list[dict]:  # noqa: ANN001
    return httpx.get(f"{reporting.url}/v1/national-feed/records", params={"state": "parked"},
                     auth=identity.auth("ops")).json()["records"]


def test_a_refusal_and_an_outage_park_and_a_re_drive_sends_each_record_once(start_service, identity, national,
                                                                            artifacts_dir):
    stack = start_service.stack("agency-adapters", "routing", "intake")
    reporting = start_service("reporting", feed_env(national, org_units=["6406"]))
    # A 4xx: the receiver refuses the record as it is; parked at once, not tried again.
    national.set_mode("refuse")
    refused = person(10)
    take_in(stack["intake"], identity, refused)
    first = eventually(lambda: parked_records(reporting, identity), until=lambda r: len(r) == 1, timeout=60)
    assert [(r["kind"], r["attempts"], r["last_status_code"]) for r in first] == [("person", 1, 422)]
    assert "refused, not retried" in first[0]["last_error"]
    # An outage: 5xx until the attempts run out, then parked; the person's later records wait.
    national.set_mode("fail")
    body = person(11)
    take_in(stack["intake"], identity, body)
    status = eventually(lambda: httpx.get(f"{reporting.url}/v1/national-feed", auth=identity.auth("ops")).json(),
                        until=lambda s: s["by_state"]["parked"] == 2 and s["held_back"] >= 4, timeout=60)
    parked = parked_records(reporting, identity)
    assert sorted((r["attempts"], r["last_status_code"]) for r in parked) == [(1, 422), (3, 503)]
    assert "full_name" not in json.dumps(parked) and body["person"]["national_id"] not in json.dumps(parked)
    assert national.records() == [] and status["oldest_unsent_at"]
    # The ops page shows it too: the feed on, the parked records, the rest held behind them.
    page = table_rows(ops_page(reporting.url, identity.issuer, artifacts=artifacts_dir), attribute="data-feed")
    assert page["on"][2] == "2" and int(page["on"][3]) >= 4, page

    national.set_mode("ok")
    assert httpx.post(f"{reporting.url}/v1/national-feed/redrive", json={"reason": "บสต. maintenance over"},
                      auth=identity.auth("national")).status_code == 403, "operations re-drive"
    redriven = httpx.post(f"{reporting.url}/v1/national-feed/redrive", json={"reason": "บสต. maintenance over"},
                          auth=identity.auth("ops"))
    assert redriven.status_code == 200 and redriven.json()["redriven"] == sorted(r["delivery_id"] for r in parked)
    kept = eventually(lambda: [national.of(b["person"]["national_id"]) for b in (refused, body)],
                      until=lambda each: all(len(r) == 5 for r in each), timeout=60)
    accepted = [e for e in national.log() if e["mode"] == "ok"]
    assert sorted(e["delivery_id"] for e in accepted) == sorted(r["delivery_id"] for rs in kept for r in rs), "each once"
    assert all([r["sequence"] for r in rs] == [1, 2, 3, 4, 5] for rs in kept) and national.problems() == []


def test_kill_9_of_reporting_mid_delivery_leaves_no_gap_and_no_duplicate(start_service, identity, national):
    stack = start_service.stack("agency-adapters", "routing", "intake")
    env = feed_env(national, org_units=["6406"], timeout_seconds=5)
    reporting = start_service("reporting", env)
    national.set_mode("timeout")  # each answer takes 2 s: kill -9 comes while records are in flight
    people = [person(20 + n) for n in range(8)]
    for body in people:
        take_in(stack["intake"], identity, body)
    eventually(lambda: national.log(), until=lambda log: len(log) >= 4, timeout=60)
    reporting.kill_hard()
    national.set_mode("ok")
    start_service("reporting", env, database=database_of(reporting), label="reporting-after-kill")

    def complete() -> list[list[dict]]:
        return [national.of(body["person"]["national_id"]) for body in people]

    # Each person: their record, two helps asked, and each help received (5); the leases of what was
    # in flight at the kill run out first (the request's timeout and a margin).
    kept = eventually(complete, until=lambda each: all(len(r) == 5 for r in each), timeout=120, interval=1)
    for records in kept:
        assert [r["sequence"] for r in records] == [1, 2, 3, 4, 5]
    ids = [r["delivery_id"] for r in national.records()]
    assert len(ids) == len(set(ids)) == 40 and national.problems() == []
    sent_again = [e for e in national.log() if e["delivery_id"] in ids]
    assert len(sent_again) > 40, "some records were sent again after the kill, and kept once"


def test_a_centre_that_joins_later_is_backfilled_once(start_service, identity, national, kafka_env):
    stack = start_service.stack("agency-adapters", "routing", "intake")
    env = feed_env(national, org_units=["6406"])
    reporting = start_service("reporting", env)
    later = person(31, program="ci_center", org_unit="2401", needs=("job_registration",))
    job = take_in(stack["intake"], identity, later, clerk="clerk-2401")["job_registration"]
    live = person(32)
    take_in(stack["intake"], identity, live)
    eventually(lambda: national.of(live["person"]["national_id"]), until=lambda r: len(r) == 5, timeout=60)
    assert national.of(later["person"]["national_id"]) == [], "2401 has not joined"
    eventually(lambda: httpx.get(f"{stack['agency-adapters'].url}/v1/referrals/{job}/history",
                                 auth=identity.auth("officer-employment-64")).json().get("moves", []),
               until=lambda moves: [m["status"] for m in moves] == ["assigned", "received"], timeout=60)

    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 3600))
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 31 * 3600))
    command = ("reporting.national_feed.backfill", "--org-unit", "2401", "--from", today, "--to", tomorrow)
    command_env = {**kafka_env, **kafka_login("reporting"), **env, "SONGTOR_ENVIRONMENT": "test",
                   "REPORTING_DATABASE_URL": database_of(reporting)}
    first = run_module(*command, env=command_env)
    assert first.strip().startswith("3 records added"), first
    backfilled = eventually(lambda: national.of(later["person"]["national_id"]), until=lambda r: len(r) == 3, timeout=60)
    assert [r["kind"] for r in backfilled] == ["person", "assistance", "assistance"]
    before = len(national.log())
    second = run_module(*command, env=command_env)
    assert second.strip().startswith("0 records added"), second
    time.sleep(2)
    assert len(national.log()) == before and national.problems() == []
    assert len(national.of(live["person"]["national_id"])) == 5, "the live feed's records were not added again"
