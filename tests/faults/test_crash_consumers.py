"""kill -9 of each consumer service in the middle of a batch while 500 intakes stream in; after
a restart every referral reaches its agency, reporting and the intake's status view exactly once.

Routing, the agency adapters and reporting are frozen first so that a backlog builds, then
resumed and killed half a second later: they are then inside a batch, between their database
commit, their outbox publish and their offset commit, which forces a replay. Intake is killed
as it is (its HTTP side must answer the clerks): the clerks' retries with the same
Idempotency-Key take their intakes in once, and its status consumers replay their batch.
"""

import asyncio
import random
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from shared.topics import Topics
from tests.support.examples import intake_for, thai_national_id
from tests.support.kafka_io import read_to_end
from tests.support.polling import eventually

pytestmark = pytest.mark.faults

INTAKES = 500
NEEDS_EACH = 4  # the contract example's four needs
VICTIMS = ["routing", "agency-adapters", "reporting", "intake"]


async def _submit_all(url: str, bodies: list[dict], *, clerk: httpx.Auth, after_each) -> list[dict]:  # noqa: ANN001
    """Every body until it is accepted, as a clerk's client does: a refused connection or a lost
    answer is retried with the same Idempotency-Key, so nothing is taken in twice."""
    accepted: list[dict] = []
    semaphore = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=url, timeout=30, auth=clerk) as client:

        async def submit(body: dict) -> None:
            key = {"Idempotency-Key": f"crash-test-{uuid.uuid4()}"}
            async with semaphore:
                for _ in range(240):
                    try:
                        response = await client.post("/v1/intakes", json=body, headers=key)
                    except httpx.TransportError:
                        await asyncio.sleep(0.5)
                        continue
                    if response.status_code < 500:
                        break
                    await asyncio.sleep(0.5)
                assert response.status_code == 202, response.text
                accepted.append(response.json())
            await after_each(len(accepted))

        await asyncio.gather(*(submit(body) for body in bodies))
    return accepted


@pytest.mark.parametrize("victim", VICTIMS)
async def test_every_referral_is_counted_once_after_a_consumer_service_is_killed_mid_batch(
    start_service, kafka_env, identity, victim
):
    services = start_service.stack("reporting", "agency-adapters", "routing", "intake")
    reporting, agency, intake, killed = services["reporting"], services["agency-adapters"], services["intake"], services[victim]
    rng = random.Random(2026)
    bodies = [intake_for(thai_national_id(rng)) for _ in range(INTAKES)]
    crashed = asyncio.Event()
    restarted: list[asyncio.Future] = []

    async def crash_once(count: int) -> None:
        if count == INTAKES // 4 and victim != "intake":
            killed.pause()
        elif count == INTAKES // 2 and not crashed.is_set():
            crashed.set()
            if victim != "intake":
                killed.resume()
                await asyncio.sleep(0.5)
            killed.kill_hard()
            # restart in a thread: it waits for health, and intakes keep streaming meanwhile
            restarted.append(asyncio.get_running_loop().run_in_executor(None, killed.start))

    accepted = await _submit_all(intake.url, bodies, clerk=identity.auth("clerk-6406"), after_each=crash_once)
    assert crashed.is_set()
    await restarted[0]  # the counts are read from the services, the victim among them
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

    # The intake's own view: every referral of every intake shows its agency's receipt.
    clerk = identity.auth("clerk-6406")

    async def statuses() -> list[str]:
        limit = asyncio.Semaphore(8)  # as many at once as the clerks' client above

        async def one(url: str) -> dict:
            async with limit:
                return (await client.get(url)).json()

        async with httpx.AsyncClient(base_url=intake.url, auth=clerk, timeout=30) as client:
            shown = await asyncio.gather(*(one(a["status_url"]) for a in accepted))
        return [r["status"] for intake_view in shown for r in intake_view["referrals"]]

    shown = await asyncio.to_thread(
        eventually, lambda: asyncio.run(statuses()),
        until=lambda s: len(s) == expected and set(s) == {"received"}, timeout=120, interval=2.0,
    )
    assert len(shown) == expected

    # What the crash did: more assignments or receipts may have been published than there are
    # referrals (the replayed ones), and the counts above show each was still counted once.
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    published = 0
    for name in ("employment", "skills", "social_security"):
        published += len(await read_to_end(kafka_env["KAFKA_BOOTSTRAP_SERVERS"], topics.referral_assigned(name)))
    print(f"{victim} killed: assignments published: {published} for {expected} referrals ({published - expected} replayed)")
    assert published >= expected
