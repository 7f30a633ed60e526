"""Dead letters as operations see and re-drive them (issue 6).

Poison on the skills topic is dead-lettered by each group reading it and listed in
/v1/ops/dlq with its reason (never its payload); re-driven without a fix, it fails again and
comes back as new dead letters.

Fix the cause, then re-drive: the agency database's role loses INSERT on agency_referrals (a
DBA's REVOKE, a migration run under another role). PostgreSQL refuses the skills consumer's
write with `permission denied`, which is not a dependency being away (that is retried without
bound) but an answer that may be the message's: the consumer retries it up to its bound (3 here),
then dead-letters the valid referral with `dlq.attempts` 3 and moves on, while reporting, which
reads the same topic from its own database, takes it in.
The grant is given back, the dead letter re-driven with why (who is the ops user's token
subject, signed in through the project's Keycloak); the agency takes it in once, one receipt
goes out, reporting's inbox ignores the copy it sees again, and a second re-drive answers 409.
"""

import json
import uuid
from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest

from shared.contracts import ReferralAssignedV2
from shared.topics import Topics, dead_letter_topic
from tests.support.identity import claims_of
from tests.support.kafka_io import json_of, produce, read_topic
from tests.support.pg_roles import database_owned_by_a_role
from tests.support.polling import eventually
from tests.support.sealing import sealed_identity

pytestmark = pytest.mark.e2e
NATIONAL_ID, FULL_NAME = "3640100456781", "สมชาย ใจดี"


def assigned_event(*, referral_id: str) -> ReferralAssignedV2:
    """A valid assignment, as routing publishes it."""
    intake_id = str(uuid.uuid4())
    return ReferralAssignedV2.model_validate({
        "event_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC).isoformat(), "correlation_id": intake_id,
        "producer": "routing", "referral_id": referral_id, "intake_id": intake_id, "agency": "skills",
        "need_code": "skill_training", "category": "develop", "person_ref": "ref-" + referral_id[:8],
        "person": {"identity": sealed_identity("ref-" + referral_id[:8], national_id=NATIONAL_ID, full_name=FULL_NAME),
                   "worker_type": "informal",
                   "address": {"subdistrict_code": "640601", "district_code": "6406", "province_code": "64"}},
        "catalog_version": "test", "routing_rule": "need:skill_training",
    })


def dlq(reporting_url: str, topic: str, auth: httpx.Auth) -> dict:
    answer = httpx.get(f"{reporting_url}/v1/ops/dlq", params={"topic": topic, "page_size": 50}, auth=auth, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def queues(reporting_url: str, auth: httpx.Auth) -> dict:
    answer = httpx.get(f"{reporting_url}/v1/ops/queues", auth=auth, timeout=10)
    return answer.json() if answer.status_code == 200 else {"agencies": [], "groups": [], "dead_letters": []}


def skills_row(reporting_url: str, auth: httpx.Auth) -> dict:
    return next((row for row in queues(reporting_url, auth)["agencies"] if row["agency"] == "skills"), {})


def position(item: dict) -> dict:
    return {"topic": item["dlq_topic"], "partition": item["partition"], "offset": item["offset"]}


def history(agency_url: str, referral_id: str, auth: httpx.Auth) -> httpx.Response:
    return httpx.get(f"{agency_url}/v1/referrals/{referral_id}/history", auth=auth, timeout=10)


async def test_poison_is_listed_with_its_reason_and_fails_again_when_redriven_unfixed(
    start_service, kafka_env, identity
):
    ops = identity.auth("ops")
    reporting = start_service("reporting", {"REPORTING_OPS_SCAN_SECONDS": "1"})
    start_service("agency-adapters", {"AGENCY_AGENCIES": json.dumps(["skills"])})
    bootstrap, group = kafka_env["KAFKA_BOOTSTRAP_SERVERS"], kafka_env["KAFKA_GROUP_PREFIX"]
    skills = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"]).referral_assigned("skills")

    # Poison: both groups reading the skills topic here (the agency's and reporting's) dead-letter it.
    await produce(bootstrap, skills, [(b"poison-1", b"{not json")])
    listed = eventually(lambda: dlq(reporting.url, skills, ops), until=lambda d: d["total"] == 2, timeout=60, interval=1)
    by_group = {item["consumer_group"]: item for item in listed["items"]}
    assert sorted(by_group) == [f"{group}agency.skills", f"{group}reporting.assigned"]
    poison = by_group[f"{group}agency.skills"]
    assert (poison["dlq_topic"], poison["original_topic"], poison["key"], poison["size_bytes"]) == (
        dead_letter_topic(skills), skills, "poison-1", 9)
    assert (poison["exception_class"], poison["attempts"]) == ("ValidationError", 1), poison
    assert poison["reason"].startswith("1 validation error(s): event:"), poison["reason"]
    assert poison["service"] == "agency-adapters" and by_group[f"{group}reporting.assigned"]["service"] == "reporting"
    assert poison["original_offset"] == 0 and poison["redrive"] is None
    assert not {"value", "payload", "body"} & set(poison), "a dead letter's payload must never be shown"
    eventually(lambda: skills_row(reporting.url, ops), until=lambda row: row.get("dead_letters") == 2, timeout=30)
    # Both groups moved on past it: nothing waits on the topic.
    row = skills_row(reporting.url, ops)
    assert row["lag"] == 0, row
    assert {(g["consumer_group"], g["lag"]) for g in queues(reporting.url, ops)["groups"]} >= {
        (f"{group}reporting.assigned", 0)}

    # Re-driven with nothing fixed, it goes back to the topic, where every group reading it fails
    # on it again: two new dead letters, and the re-driven one no longer counts as waiting.
    retry = {"items": [position(poison)], "reason": "trying it again"}
    for refused_to in ("province-64", "national"):
        answer = httpx.post(f"{reporting.url}/v1/ops/dlq/redrive", json=retry, auth=identity.auth(refused_to),
                            timeout=30)
        assert answer.status_code == 403, (refused_to, answer.text)
    assert httpx.get(f"{reporting.url}/v1/ops/dlq", auth=identity.auth("province-64"), timeout=10).status_code == 403
    answer = httpx.post(f"{reporting.url}/v1/ops/dlq/redrive", json=retry, auth=ops, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["actor"] == claims_of(identity.token("ops"))["sub"]
    listed = eventually(lambda: dlq(reporting.url, skills, ops), until=lambda d: d["total"] == 4, timeout=60, interval=1)
    again = [item for item in listed["items"] if item["offset"] != poison["offset"] or
             item["partition"] != poison["partition"]]
    assert sorted(item["consumer_group"] for item in again if item["redrive"] is None) == [
        f"{group}agency.skills", f"{group}reporting.assigned", f"{group}reporting.assigned"]
    eventually(lambda: skills_row(reporting.url, ops), until=lambda row: row.get("dead_letters") == 3, timeout=30)


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)  # SQLite has no privileges to take away
async def test_a_dead_letter_is_redriven_after_its_cause_is_fixed_and_processed_once(
    start_service, kafka_env, postgres, artifacts_dir, identity
):
    agency_db = database_owned_by_a_role(postgres, service="agency-adapters")
    try:
        await _fix_then_redrive(start_service=start_service, kafka_env=kafka_env, agency_db=agency_db,
                                artifacts_dir=artifacts_dir, identity=identity)
    finally:
        agency_db.drop()


async def _fix_then_redrive(*, start_service, kafka_env, agency_db, artifacts_dir, identity) -> None:  # noqa: ANN001
    ops, officer = identity.auth("ops"), identity.auth("officer-skills-64")
    reporting = start_service("reporting", {"REPORTING_OPS_SCAN_SECONDS": "1"})
    # A short retry bound, so the refused write is dead-lettered within the test's patience.
    agency = start_service("agency-adapters", {"AGENCY_AGENCIES": json.dumps(["skills"]),
                                               "KAFKA_CONSUMER_RETRY_ATTEMPTS": "3",
                                               "KAFKA_CONSUMER_RETRY_FIRST_BACKOFF_SECONDS": "0.2"},
                           database=agency_db.service_url)
    bootstrap, group = kafka_env["KAFKA_BOOTSTRAP_SERVERS"], kafka_env["KAFKA_GROUP_PREFIX"]
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    skills = topics.referral_assigned("skills")

    # The cause: the service's role may no longer add referrals (it still reads, and writes elsewhere).
    agency_db.execute(f'REVOKE INSERT ON agency_referrals FROM "{agency_db.role}"')
    event = assigned_event(referral_id=str(uuid.uuid4()))
    await produce(bootstrap, skills, [(event.referral_id.encode(), event.model_dump_json().encode())])

    listed = eventually(lambda: dlq(reporting.url, skills, ops), until=lambda d: d["total"] >= 1, timeout=60, interval=1)
    assert listed["total"] == 1, listed  # reporting's group took it in: only the agency's failed
    dead = listed["items"][0]
    assert (dead["key"], dead["consumer_group"], dead["service"], dead["original_topic"]) == (
        event.referral_id, f"{group}agency.skills", "agency-adapters", skills)
    assert (dead["exception_class"], dead["attempts"]) == ("ProgrammingError", 3), dead
    assert "permission denied for table agency_referrals" in dead["reason"], dead["reason"]
    assert NATIONAL_ID not in dead["reason"] and FULL_NAME not in dead["reason"]
    assert dead["redrive"] is None
    # The consumer moved on (nothing waits on the topic) and holds nothing of the referral.
    row = eventually(lambda: skills_row(reporting.url, ops),
                     until=lambda row: row.get("dead_letters") == 1 and row.get("lag") == 0, timeout=30)
    assert row["consumer_group"] == f"{group}agency.skills"
    assert history(agency.url, event.referral_id, officer).status_code == 404

    # The fix, then the re-drive.
    agency_db.execute(f'GRANT INSERT ON agency_referrals TO "{agency_db.role}"')
    body = {"items": [position(dead)], "reason": "INSERT on agency_referrals granted back"}
    answer = httpx.post(f"{reporting.url}/v1/ops/dlq/redrive", json=body, auth=ops, timeout=30)
    assert answer.status_code == 200, answer.text
    ops_subject = claims_of(identity.token("ops"))["sub"]
    assert answer.json()["actor"] == ops_subject
    assert [item["target_topic"] for item in answer.json()["redriven"]] == [skills]

    moves = eventually(lambda: history(agency.url, event.referral_id, officer), until=lambda r: r.status_code == 200,
                       timeout=60, interval=0.5).json()["moves"]
    assert [m["status"] for m in moves] == ["assigned", "received"]

    again = httpx.post(f"{reporting.url}/v1/ops/dlq/redrive", json=body, auth=ops, timeout=30)
    assert again.status_code == 409, again.text
    assert again.json()["items"] == [position(dead)]

    # Processed once: one receipt on referral.updated (read for longer than it takes to come).
    updates = await read_topic(bootstrap, topics.referral_updated, expect=2, timeout=15)
    assert Counter(json_of(r)["referral_id"] for r in updates) == {event.referral_id: 1}
    # Reporting saw the copy again and its inbox ignored it: still the one dead letter, now re-driven.
    listed = dlq(reporting.url, skills, ops)
    assert listed["total"] == 1, listed
    redrive = listed["items"][0]["redrive"]
    assert (redrive["actor"], redrive["reason"], redrive["target_topic"]) == (ops_subject, body["reason"], skills)
    eventually(lambda: skills_row(reporting.url, ops),
               until=lambda row: row.get("dead_letters") == 0 and row.get("lag") == 0, timeout=30)
    lags = {(g["consumer_group"], g["topic"]): g["lag"] for g in queues(reporting.url, ops)["groups"]}
    assert lags[(f"{group}reporting.assigned", skills)] == 0, lags
    assert lags[(f"{group}reporting.updated", topics.referral_updated)] == 0, lags
    (artifacts_dir / "dlq-listing.json").write_text(json.dumps(listed, indent=2, ensure_ascii=False))
