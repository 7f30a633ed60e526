"""An agency's own system, linked by webhook: a real HTTP server process stands in for it and
fails, times out and recovers on command. Deliveries are signed, retried with backoff, held back
by the circuit breaker, parked when they cannot get through and re-driven by the agency's head
after the fix; the system's signed callbacks move referrals through the same lifecycle as the
workbench, and a captured callback cannot be replayed, as it is or on another referral. People
read and re-drive with their Keycloak tokens; operations see deliveries, never whose they are."""

import json
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from routing.domain import route_intake
from shared.catalog import default_catalog
from shared.contracts import ReferralAssignedV2
from shared.delivery.signing import NONCE_HEADER, SIGNATURE_HEADER, new_nonce, signature
from shared.topics import Topics
from tests.support.examples import contract_example, intake_event
from tests.support.identity import claims_of
from tests.support.kafka_io import produce
from tests.support.polling import eventually
from tests.support.processes import stand_in
from tests.support.sealing import key_issued

pytestmark = pytest.mark.e2e
SECRET = "skills-dept-shared-secret-0001"
OFFICER, HEAD = "officer-skills-64", "head-skills-64"


class FakeSystem:
    def __init__(self, url: str) -> None:
        self.url = url

    def set_mode(self, mode: str, *, auto_accept: bool = False) -> None:
        httpx.post(f"{self.url}/_mode", json={"mode": mode, "auto_accept": auto_accept}).raise_for_status()

    def log(self) -> list[dict]:
        return httpx.get(f"{self.url}/_log").json()["log"]

    def deliveries_of(self, referral_id: str) -> list[dict]:
        return [e for e in self.log() if e.get("delivery") == referral_id]

    def callbacks(self) -> list[dict]:
        """The callbacks it sent, bytes and headers as captured on the wire."""
        return httpx.get(f"{self.url}/_callbacks").json()["callbacks"]


@pytest.fixture
def fake_system(artifacts_dir):
    with stand_in("tests.support.fake_agency_system", secret=SECRET, slow_seconds=3,
                  log=artifacts_dir / "fake-agency-system.log", probe="/_log") as url:
        yield FakeSystem(url)


def start_adapters(start_service, fake_system: FakeSystem, **overrides: object):
    target = {"url": f"{fake_system.url}/songtor/referrals", "secret": SECRET, "timeout_seconds": 1,
              "max_attempts": 4, "backoff_base_seconds": 0.2, "backoff_cap_seconds": 0.4,
              "breaker_failures": 3, "breaker_cooldown_seconds": 3, "concurrency": 2, **overrides}
    return start_service("agency-adapters", {"AGENCY_WEBHOOKS": json.dumps({"skills": target}),
                                             "AGENCY_WEBHOOK_SCAN_SECONDS": "0.2"})


async def send_referrals(kafka_env: dict[str, str], *, count: int) -> dict[str, list[str]]:
    """`count` fresh intakes routed as routing would; returns the referral ids per agency."""
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    by_agency: dict[str, list[str]] = {}
    for _ in range(count):
        intake = intake_event(intake_id=str(uuid.uuid4()))
        # The person's key first, as intake publishes it: the adapters open the person with it.
        await produce(kafka_env["KAFKA_BOOTSTRAP_SERVERS"], topics.person_keys,
                      [(intake.person_ref.encode(), key_issued(intake.person_ref).model_dump_json().encode())])
        routed = route_intake(intake=intake, catalog=default_catalog(), routed_at=datetime.now(UTC))
        for event in (r.event for r in routed if isinstance(r.event, ReferralAssignedV2)):
            await produce(kafka_env["KAFKA_BOOTSTRAP_SERVERS"], topics.referral_assigned(event.agency),
                          [(event.referral_id.encode(), event.model_dump_json().encode())])
            by_agency.setdefault(event.agency, []).append(event.referral_id)
    return by_agency


def callback(adapters_url: str, agency: str, referral_id: str, body: dict, *, secret: str = SECRET,
             timestamp: int | None = None) -> httpx.Response:
    """A callback signed as docs/agency-it.md tells an agency to sign one."""
    raw, nonce = json.dumps(body).encode(), new_nonce()
    path = f"/v1/agency-systems/{agency}/referrals/{referral_id}/status"
    sig = signature(secret=secret, timestamp=timestamp or int(time.time()), nonce=nonce, method="POST", path=path, body=raw)
    return httpx.post(f"{adapters_url}{path}", content=raw,
                      headers={"Content-Type": "application/json", SIGNATURE_HEADER: sig, NONCE_HEADER: nonce})


def link(adapters_url: str, identity) -> dict:  # noqa: ANN001
    return httpx.get(f"{adapters_url}/v1/agencies/skills/webhook", auth=identity.auth(OFFICER)).json()


def history(adapters_url: str, identity, referral_id: str) -> list[dict]:  # noqa: ANN001
    return httpx.get(f"{adapters_url}/v1/referrals/{referral_id}/history", auth=identity.auth(OFFICER)).json()["moves"]


@pytest.fixture
def head(identity) -> str:  # noqa: ANN001
    """The demo realm has an employment head only; the skills department's is made once."""
    return identity.ensure_user(HEAD, roles=["agency_head", "agency_officer"], provinces=["64"], agency="skills")


async def test_a_signed_delivery_reaches_the_agency_system_and_its_callback_moves_the_referral(
    start_service, kafka_env, fake_system, identity
):
    fake_system.set_mode("ok", auto_accept=True)
    adapters = start_adapters(start_service, fake_system)
    sent = await send_referrals(kafka_env, count=1)
    skills = sent["skills"][0]

    seen = eventually(lambda: fake_system.deliveries_of(skills), until=bool, timeout=30)
    assert seen[0]["signature_valid"] and seen[0]["attempt"] == "1"
    payload = seen[0]["payload"]
    assert payload["type"] == "referral.assigned" and payload["referral"]["referral_id"] == skills
    assert payload["referral"]["need_code"] == "skill_training" and payload["referral"]["person"]["national_id"]
    assert "rehab" not in json.dumps(payload) and "program" not in json.dumps(payload), "source programme leaked"

    moves = eventually(lambda: history(adapters.url, identity, skills),
                       until=lambda moves: moves[-1]["status"] == "accepted", timeout=30)
    assert [m["status"] for m in moves] == ["assigned", "received", "accepted"]
    assert moves[-1]["actor"] == "skills-system"
    assert link(adapters.url, identity)["deliveries"] == {"pending": 0, "delivered": 1, "parked": 0}
    assert link(adapters.url, identity)["circuit"]["state"] == "closed"

    # The callback is the same state machine, behind the agency's signature.
    forbidden = callback(adapters.url, "skills", skills, {"status": "accepted"})
    assert forbidden.status_code == 409 and "in_progress" in forbidden.json()["allowed_moves"]
    incomplete = callback(adapters.url, "skills", skills, {"status": "completed", "outcome_code": "enrolled"})
    assert incomplete.status_code == 422 and "course" in json.dumps(incomplete.json(), ensure_ascii=False)
    assert callback(adapters.url, "skills", skills, {"status": "in_progress"}, secret="not-the-skills-secret!").status_code == 401
    stale = callback(adapters.url, "skills", skills, {"status": "in_progress"}, timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401 and "clock" in stale.json()["detail"]
    assert callback(adapters.url, "skills", sent["employment"][0], {"status": "accepted"}).status_code == 404
    assert callback(adapters.url, "employment", sent["employment"][0], {"status": "accepted"}).status_code == 404
    done = callback(adapters.url, "skills", skills, {"status": "completed", "outcome_code": "course_completed", "details": {"course": "ช่างเชื่อม"},
                                                    "actor": "dsd-clerk-7"})
    assert done.status_code == 200, done.text
    last = history(adapters.url, identity, skills)[-1]
    assert last["status"] == "completed" and last["actor"] == "skills-system:dsd-clerk-7"
    # The system acts for the agency: cancelling is the provincial office's, not its (refused
    # before the lifecycle is even asked).
    cancelled = callback(adapters.url, "skills", skills, {"status": "cancelled", "reason": "Entered twice"})
    assert cancelled.status_code == 403 and "provincial office" in cancelled.json()["detail"]
    # Agencies without a system link get nothing pushed: they use the workbench.
    assert all(e.get("delivery") in sent["skills"] for e in fake_system.log() if "delivery" in e)


async def test_a_captured_callback_cannot_be_replayed_as_it_is_or_on_another_referral(
    start_service, kafka_env, fake_system, identity
):
    fake_system.set_mode("ok", auto_accept=True)
    adapters = start_adapters(start_service, fake_system)
    first = (await send_referrals(kafka_env, count=1))["skills"][0]
    captured = eventually(fake_system.callbacks, until=bool, timeout=30)[0]
    assert captured["status"] == 200 and first in captured["url"]
    fake_system.set_mode("ok", auto_accept=False)
    second = (await send_referrals(kafka_env, count=1))["skills"][0]
    eventually(lambda: fake_system.deliveries_of(second), until=bool, timeout=30)

    def replay(referral_id: str) -> httpx.Response:
        return httpx.post(f"{adapters.url}/v1/agency-systems/skills/referrals/{referral_id}/status",
                          content=captured["body"].encode(), headers=captured["headers"])

    # The second referral is received: accepting it would be a valid move, were the callback its own.
    elsewhere = replay(second)
    assert elsewhere.status_code == 401 and "does not match" in elsewhere.json()["detail"]
    as_it_was = replay(first)
    assert as_it_was.status_code == 401 and "nonce already used" in as_it_was.json()["detail"]
    assert [m["status"] for m in history(adapters.url, identity, second)] == ["assigned", "received"]
    assert [m["status"] for m in history(adapters.url, identity, first)] == ["assigned", "received", "accepted"]
    # Freshly signed for the second referral, the same move goes through.
    assert callback(adapters.url, "skills", second, {"status": "accepted"}).status_code == 200


async def test_failures_are_retried_the_circuit_opens_and_closes_when_the_system_recovers(
    start_service, kafka_env, fake_system, identity
):
    fake_system.set_mode("fail")
    adapters = start_adapters(start_service, fake_system)
    skills = (await send_referrals(kafka_env, count=1))["skills"][0]

    status = eventually(lambda: link(adapters.url, identity), until=lambda s: s["circuit"]["state"] == "open", timeout=30)
    failed = fake_system.deliveries_of(skills)
    assert [e["attempt"] for e in failed] == ["1", "2", "3"], "retried, each attempt numbered"
    assert status["deliveries"]["pending"] == 1 and status["deliveries"]["parked"] == 0

    fake_system.set_mode("ok")
    eventually(lambda: link(adapters.url, identity), until=lambda s: s["deliveries"]["delivered"] == 1, timeout=30)
    attempts = fake_system.deliveries_of(skills)
    assert [e["attempt"] for e in attempts] == ["1", "2", "3", "4"] and attempts[-1]["mode"] == "ok"
    assert attempts[3]["at"] - attempts[2]["at"] >= 2.8, "the open circuit held calls back for its cool-down"
    assert link(adapters.url, identity)["circuit"]["state"] == "closed"
    metrics = httpx.get(f"{adapters.url}/metrics").text
    assert 'songtor_webhook_attempts_total{agency="skills",result="retry"} 3.0' in metrics
    assert 'songtor_webhook_attempts_total{agency="skills",result="delivered"} 1.0' in metrics


async def test_a_delivery_that_keeps_timing_out_is_parked_in_sight_and_re_driven_once_after_the_fix(
    start_service, kafka_env, fake_system, identity, head
):
    fake_system.set_mode("timeout")
    adapters = start_adapters(start_service, fake_system, max_attempts=2, breaker_failures=50)
    skills = sorted((await send_referrals(kafka_env, count=2))["skills"])

    parked_url = f"{adapters.url}/v1/agencies/skills/webhook/deliveries"
    parked = eventually(lambda: httpx.get(parked_url, params={"state": "parked"}, auth=identity.auth("ops")).json()["deliveries"],
                        until=lambda rows: len(rows) == 2, timeout=60)
    assert all(row["last_error"] == "no answer within 1 s; parked after 2 attempts" for row in parked)
    # Operations see the deliveries, never whose they are.
    person = contract_example()["person"]
    seen_by_ops = httpx.get(parked_url, auth=identity.auth("ops")).text
    assert person["national_id"] not in seen_by_ops and person["full_name"] not in seen_by_ops
    assert httpx.get(parked_url, auth=identity.auth("officer-employment-64")).status_code == 403
    # Parked is not lost: the referrals are still in the agency's queue.
    queue = httpx.get(f"{adapters.url}/v1/agencies/skills/referrals", auth=identity.auth(OFFICER)).json()["referrals"]
    assert sorted(r["referral_id"] for r in queue) == skills
    eventually(lambda: httpx.get(f"{adapters.url}/metrics").text,
               until=lambda text: 'songtor_webhook_deliveries{agency="skills",state="parked"} 2.0' in text, timeout=15)

    fake_system.set_mode("ok")
    redrive_url, body = f"{adapters.url}/v1/agencies/skills/webhook/redrive", {"referral_ids": skills, "reason": "DSD gateway restarted"}
    for not_theirs in (OFFICER, "ops", "head-employment-64"):
        assert httpx.post(redrive_url, json=body, auth=identity.auth(not_theirs)).status_code == 403, not_theirs
    forged = httpx.post(redrive_url, json={**body, "actor": "ops-somsri"}, auth=identity.auth(head))
    assert forged.status_code == 422 and "actor" in forged.text
    redrive = httpx.post(redrive_url, json=body, auth=identity.auth(head))
    assert redrive.status_code == 200 and redrive.json()["redriven"] == skills
    eventually(lambda: link(adapters.url, identity), until=lambda s: s["deliveries"]["delivered"] == 2, timeout=30)
    for referral_id in skills:
        answered_ok = [e for e in fake_system.deliveries_of(referral_id) if e["mode"] == "ok"]
        assert len(answered_ok) == 1, "re-driven once, delivered once"
    row = httpx.get(parked_url, params={"state": "delivered"}, auth=identity.auth(OFFICER)).json()["deliveries"][0]
    assert row["redrive_count"] == 1 and row["last_redrive_by"] == claims_of(identity.token(head))["sub"]

    again = httpx.post(redrive_url, json={**body, "reason": "clicked twice"}, auth=identity.auth(head))
    assert again.status_code == 409 and again.json()["not_parked"] == skills
