"""Deadlines against the running agency service: an old referral is announced overdue once per
stage and rung of the escalation ladder, and never again on later scans."""

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agency_adapters.deadlines import DeadlinePolicy, breaches
from routing.domain import route_intake
from shared.catalog import default_catalog
from shared.topics import Topics
from tests.support.examples import intake_event
from tests.support.kafka_io import json_of, produce, read_topic

pytestmark = pytest.mark.e2e


async def test_an_overdue_referral_climbs_the_ladder_once(start_service, kafka_env):
    start_service("agency-adapters", {"AGENCY_DEADLINE_SCAN_SECONDS": "0.5"})
    long_ago = datetime.now(UTC) - timedelta(days=60)
    assigned = route_intake(intake=intake_event(), catalog=default_catalog(), routed_at=long_ago)[0].event
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    bootstrap = kafka_env["KAFKA_BOOTSTRAP_SERVERS"]
    await produce(bootstrap, topics.referral_assigned(assigned.agency), [(assigned.referral_id.encode(), assigned.model_dump_json().encode())])

    today = datetime.now(ZoneInfo("Asia/Bangkok")).date()
    expected = breaches(status="received", assigned_on=long_ago.astimezone(ZoneInfo("Asia/Bangkok")).date(),
                        today=today, policy=DeadlinePolicy(), final=False)
    expected_notices = sorted((b.stage, level) for b in expected for level in b.levels)
    assert ("acknowledge", "provincial_labour_office") in expected_notices

    notices = await read_topic(bootstrap, topics.referral_overdue, expect=len(expected_notices), timeout=30)
    await asyncio.sleep(3)  # several more scans
    notices = await read_topic(bootstrap, topics.referral_overdue, expect=len(expected_notices) + 1, timeout=3)
    assert sorted((json_of(n)["stage"], json_of(n)["escalation_level"]) for n in notices) == expected_notices
    first = json_of(notices[0])
    assert first["referral_id"] == assigned.referral_id and first["agency"] == "employment"
    assert all(n.key == assigned.referral_id.encode() for n in notices)
