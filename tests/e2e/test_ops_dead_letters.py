"""Dead letters as operations see and re-drive them (issue 6).

Poison on the skills topic is dead-lettered by each group reading it and listed in
/v1/ops/dlq with its reason (never its payload). Two dead letters whose cause has gone are then
re-driven: one whose referral never reached the agency (put on the .dlq topic with the headers
the dead-letter middleware writes, as if the skills consumer had failed on it earlier), and one
whose effect had already happened. The first is taken in once, the second changes nothing (the
inbox knows its event_id), each sends one receipt at most, and a second re-drive answers 409.
"""

import json
import uuid
from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest

from shared.contracts import ReferralAssignedV1
from shared.kafka import DeadLetterHeaders
from shared.topics import Topics, dead_letter_topic
from tests.support.kafka_io import json_of, read_topic
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


def assigned_event(*, referral_id: str) -> ReferralAssignedV1:
    intake_id = str(uuid.uuid4())
    return ReferralAssignedV1.model_validate({
        "event_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC).isoformat(), "correlation_id": intake_id,
        "producer": "routing", "referral_id": referral_id, "intake_id": intake_id, "agency": "skills",
        "need_code": "skill_training", "category": "develop", "person_ref": "ref-" + referral_id[:8],
        "person": {"national_id": "3640100456781", "full_name": "สมชาย ใจดี", "worker_type": "informal",
                   "address": {"subdistrict_code": "640601", "district_code": "6406", "province_code": "64"}},
        "catalog_version": "test", "routing_rule": "need:skill_training",
    })


async def send(bootstrap: str, topic: str, *, key: str, value: bytes, headers: dict[str, str] | None = None) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key.encode(),
                                     headers=[(k, v.encode()) for k, v in (headers or {}).items()])
    finally:
        await producer.stop()


def dlq(reporting_url: str, topic: str) -> dict:
    return httpx.get(f"{reporting_url}/v1/ops/dlq", params={"topic": topic, "page_size": 50}, timeout=10).json()


def skills_row(reporting_url: str) -> dict:
    answer = httpx.get(f"{reporting_url}/v1/ops/queues", timeout=10)
    rows = answer.json()["agencies"] if answer.status_code == 200 else []
    return next((row for row in rows if row["agency"] == "skills"), {})


async def test_dead_letters_are_listed_with_their_reason_and_redriven_once(start_service, kafka_env, artifacts_dir):
    reporting = start_service("reporting", {"REPORTING_OPS_SCAN_SECONDS": "1"})
    agency = start_service("agency-adapters", {"AGENCY_AGENCIES": json.dumps(["skills"])})
    bootstrap, group = kafka_env["KAFKA_BOOTSTRAP_SERVERS"], kafka_env["KAFKA_GROUP_PREFIX"]
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    skills = topics.referral_assigned("skills")

    # Poison: both groups reading the skills topic here (the agency's and reporting's) dead-letter it.
    await send(bootstrap, skills, key="poison-1", value=b"{not json")
    listed = eventually(lambda: dlq(reporting.url, skills), until=lambda d: d["total"] == 2, timeout=60, interval=1)
    by_group = {item["consumer_group"]: item for item in listed["items"]}
    assert sorted(by_group) == [f"{group}agency.skills", f"{group}reporting.assigned"]
    poison = by_group[f"{group}agency.skills"]
    assert (poison["dlq_topic"], poison["original_topic"], poison["key"], poison["size_bytes"]) == (
        dead_letter_topic(skills), skills, "poison-1", 9)
    assert poison["exception_class"] and poison["reason"] and poison["service"] == "agency-adapters"
    assert poison["original_offset"] == 0 and poison["redrive"] is None
    assert not {"value", "payload", "body"} & set(poison), "a dead letter's payload must never be shown"
    eventually(lambda: skills_row(reporting.url), until=lambda row: row.get("dead_letters") == 2, timeout=30)

    # One referral the agency already holds (taken in from its topic)...
    held = assigned_event(referral_id=str(uuid.uuid4()))
    await send(bootstrap, skills, key=held.referral_id, value=held.model_dump_json().encode())
    eventually(lambda: httpx.get(f"{agency.url}/v1/referrals/{held.referral_id}/history", timeout=10).status_code,
               until=lambda status: status == 200, timeout=60)
    # ...and both it and a new one put on the dead-letter topic as if the consumer had failed on them.
    missed = assigned_event(referral_id=str(uuid.uuid4()))
    for event in (missed, held):
        await send(bootstrap, dead_letter_topic(skills), key=event.referral_id, value=event.model_dump_json().encode(),
                   headers={DeadLetterHeaders.ORIGINAL_TOPIC: skills, DeadLetterHeaders.ORIGINAL_PARTITION: "0",
                            DeadLetterHeaders.ORIGINAL_OFFSET: "0", DeadLetterHeaders.CONSUMER_GROUP: f"{group}agency.skills",
                            DeadLetterHeaders.EXCEPTION_CLASS: "OperationalError",
                            DeadLetterHeaders.EXCEPTION_MESSAGE: "no such table: agency_referrals",
                            DeadLetterHeaders.SERVICE: "agency-adapters"})
    listed = eventually(lambda: dlq(reporting.url, skills), until=lambda d: d["total"] == 4, timeout=30, interval=1)
    by_key = {item["key"]: item for item in listed["items"]}
    chosen = [{"topic": by_key[e.referral_id]["dlq_topic"], "partition": by_key[e.referral_id]["partition"],
               "offset": by_key[e.referral_id]["offset"]} for e in (missed, held)]

    body = {"items": chosen, "actor": "officer-0042", "reason": "agency table restored"}
    answer = httpx.post(f"{reporting.url}/v1/ops/dlq/redrive", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    assert [item["target_topic"] for item in answer.json()["redriven"]] == [skills, skills]

    history = eventually(lambda: httpx.get(f"{agency.url}/v1/referrals/{missed.referral_id}/history", timeout=10),
                         until=lambda r: r.status_code == 200, timeout=60, interval=0.5).json()
    assert [m["status"] for m in history["moves"]] == ["assigned", "received"]

    again = httpx.post(f"{reporting.url}/v1/ops/dlq/redrive", json={**body, "items": chosen[:1]}, timeout=30)
    assert again.status_code == 409, again.text
    assert again.json()["items"] == chosen[:1]

    # Processed once: one receipt per referral on referral.updated, the held one not moved again.
    updates = await read_topic(bootstrap, topics.referral_updated, expect=3, timeout=15)
    receipts = Counter(json_of(r)["referral_id"] for r in updates)
    assert receipts == {missed.referral_id: 1, held.referral_id: 1}, receipts
    held_history = httpx.get(f"{agency.url}/v1/referrals/{held.referral_id}/history", timeout=10).json()
    assert [m["status"] for m in held_history["moves"]] == ["assigned", "received"]

    listed = dlq(reporting.url, skills)
    redriven = {item["key"]: item["redrive"] for item in listed["items"] if item["redrive"]}
    assert sorted(redriven) == sorted([missed.referral_id, held.referral_id])
    assert redriven[missed.referral_id]["actor"] == "officer-0042"
    # Depth counts what still waits: the two poison copies.
    eventually(lambda: skills_row(reporting.url), until=lambda row: row.get("dead_letters") == 2, timeout=30)
    (artifacts_dir / "dlq-listing.json").write_text(json.dumps(listed, indent=2, ensure_ascii=False))
