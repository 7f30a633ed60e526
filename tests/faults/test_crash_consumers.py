"""kill -9 of each consumer service in the middle of a batch while 500 intakes stream in; after
a restart every referral reaches its agency, reporting and the intake's status view exactly once.

Routing, the agency adapters and reporting are frozen first so that a backlog builds, then
resumed and killed half a second later: they are then inside a batch, between their database
commit, their outbox publish and their offset commit, which forces a replay. Intake is killed
as it is (its HTTP side must answer the clerks): the clerks' retries with the same
Idempotency-Key take their intakes in once, and its status consumers replay their batch.
"""

import asyncio

import httpx
import pytest

from shared.topics import Topics
from tests.support.fault_checker import judge_stack
from tests.support.intake_stream import intake_bodies, submit_all
from tests.support.kafka_io import read_to_end
from tests.support.polling import eventually

pytestmark = pytest.mark.faults

INTAKES = 500
VICTIMS = ["routing", "agency-adapters", "reporting", "intake"]


@pytest.mark.parametrize("victim", VICTIMS)
async def test_every_referral_is_counted_once_after_a_consumer_service_is_killed_mid_batch(
    start_service, kafka_env, identity, victim
):
    services = start_service.stack("reporting", "agency-adapters", "routing", "intake")
    intake, killed = services["intake"], services[victim]
    bodies = intake_bodies(INTAKES)
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

    accepted = await submit_all(intake.url, bodies, clerk=identity.auth("clerk-6406"), after_each=crash_once)
    assert crashed.is_set()
    await restarted[0]  # the counts are read from the services, the victim among them
    assert len({a["intake_id"] for a in accepted}) == INTAKES
    expected = sum(len(a["referrals"]) for a in accepted)

    # The fault matrix's one checker: each agency holds each of its referrals once (the inbox
    # absorbed any replay), reporting has each fact once, and the summary counts each once.
    verdict = await judge_stack(answers=accepted, services=services, identity=identity, timeout=180)
    print(f"\nFAULT {victim} kill -9 mid-batch: {INTAKES} intakes, {expected} referrals; {verdict.figures()}")
    assert verdict.clean, verdict.describe()

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
