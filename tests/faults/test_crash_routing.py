"""kill -9 the routing process while 500 intakes stream in; after a restart every referral
reaches reporting exactly once."""

import asyncio
import random
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from shared.topics import Topics
from tests.support.examples import intake_for, thai_national_id
from tests.support.kafka_io import read_topic
from tests.support.polling import eventually

pytestmark = pytest.mark.faults

INTAKES = 500
NEEDS_EACH = 4  # the contract example's four needs


async def _submit_all(url: str, bodies: list[dict], *, clerk: httpx.Auth, after_each) -> list[dict]:  # noqa: ANN001
    accepted: list[dict] = []
    semaphore = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=url, timeout=30, auth=clerk) as client:

        async def submit(body: dict) -> None:
            async with semaphore:
                response = await client.post("/v1/intakes", json=body)
                assert response.status_code == 202, response.text
                accepted.append(response.json())
                await after_each(len(accepted))

        await asyncio.gather(*(submit(body) for body in bodies))
    return accepted


async def test_every_referral_reaches_reporting_exactly_once_after_routing_is_killed(start_service, kafka_env, identity):
    reporting = start_service("reporting")
    agency = start_service("agency-adapters")
    routing = start_service("routing")
    intake = start_service("intake")
    rng = random.Random(2026)
    bodies = [intake_for(thai_national_id(rng)) for _ in range(INTAKES)]
    crashed = asyncio.Event()

    async def crash_routing_once(count: int) -> None:
        # Freeze routing so a backlog builds, then let it work through it and kill it mid-way:
        # the kill then lands between a publish and its offset commit, forcing a replay.
        if count == INTAKES // 4:
            routing.pause()
        elif count == INTAKES // 2 and not crashed.is_set():
            crashed.set()
            routing.resume()
            await asyncio.sleep(0.5)
            routing.kill_hard()
            # restart in a thread: it waits for health, and intakes keep streaming meanwhile
            asyncio.get_running_loop().run_in_executor(None, routing.start)

    accepted = await _submit_all(intake.url, bodies, clerk=identity.auth("clerk-6406"), after_each=crash_routing_once)
    assert crashed.is_set()
    assert len({a["intake_id"] for a in accepted}) == INTAKES
    expected = INTAKES * NEEDS_EACH

    month = datetime.now(ZoneInfo("Asia/Bangkok")).strftime("%Y-%m")
    report = await asyncio.to_thread(
        eventually,
        lambda: httpx.get(f"{reporting.url}/v1/reports/monthly", params={"province": "64", "month": month},
                          auth=identity.auth("province-64")).json(),
        until=lambda r: r.get("by_status", {}).get("received") == expected,
        timeout=180,
        interval=1.0,
    )
    assert report["total"] == expected
    assert report["by_agency"] == {
        "employment": INTAKES, "skills": INTAKES, "welfare": 0, "social_security": 2 * INTAKES,
    }

    # Each agency stored each of its referrals once (the inbox absorbed any replay), as its
    # officers in Sukhothai see them.
    stored = 0
    async with httpx.AsyncClient(base_url=agency.url) as client:
        for name in ("employment", "skills", "social_security"):
            offset, officer = 0, identity.auth(f"officer-{name}-64")
            while rows := (await client.get(f"/v1/agencies/{name}/referrals", params={"limit": 1000, "offset": offset},
                                            auth=officer)).json()["referrals"]:
                stored += len(rows)
                offset += len(rows)
    assert stored == expected

    # What the crash did: routing published more assignments than there are referrals (the
    # replayed ones), and the counts above show each was still counted once.
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    published = 0
    for name in ("employment", "skills", "social_security"):
        published += len(await read_topic(kafka_env["KAFKA_BOOTSTRAP_SERVERS"], topics.referral_assigned(name),
                                          expect=expected, timeout=5))
    print(f"assignments published: {published} for {expected} referrals ({published - expected} replayed)")
    assert published >= expected
