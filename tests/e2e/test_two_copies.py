"""Two copies of every service on one database and one broker (replicas), one copy of each killed
with -9 in the middle of a stream of intakes, and nothing restarted: the results are exact.

- Every intake the clerks were answered 202 for (half of them sent to each intake copy, a retry
  going to the other copy with the same Idempotency-Key) has each of its referrals at its agency
  once, and reporting counts each once.
- The background jobs ran in one copy at a time (shared/db/leases.py): the killed copies were the
  holders of their service's lease (month close, overdue watch, retention), and the surviving
  copies took each lease over within its ttl and a third (SONGTOR_LEASE_TTL_SECONDS=6 here).
- The overdue watch announced each rung of each late referral once, those that came late before
  the kill and those after it (by the copy that took the watch over); the month close filed each
  version of the due SP-12 once, the last one counting every person. "Once" is one announcement
  per notice or version: a relay killed between its publish and its mark may put the very same
  record on the topic twice (same event id, same content), which consumers drop by its event id;
  a second *announcement* (another copy scanning or closing too) would carry its own time.
"""

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agency_adapters.deadlines import DeadlinePolicy, breaches
from routing.domain import route_intake
from shared.catalog import default_catalog
from shared.topics import Topics
from tests.support.examples import intake_event, intake_for, thai_national_id
from tests.support.kafka_io import json_of, produce, read_to_end
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

BANGKOK = ZoneInfo("Asia/Bangkok")
INTAKES = 120
NEEDS_EACH = 4  # the contract example's: employment, skills and social security (twice)
LATE_EACH_SIDE = 3  # late referrals put on the topic before the kill, and as many after it
# Long enough for a copy's event loop to come back from a stall (the survivor of reporting runs its
# first month close right after taking it over, and starting its build process holds the loop for
# seconds on a machine running eight services), short enough to keep the test short.
TTL = 6.0
SERVICES = ("reporting", "agency-adapters", "routing", "intake")
# The lease whose holder is killed in each service.
VICTIM_LEASE = {"reporting": "month-close", "agency-adapters": "overdue-watch", "routing": "retention",
                "intake": "retention"}
EXTRA_ENV = {
    "reporting": {"REPORTING_SP12_DUE_DAY": "1", "REPORTING_CLOSE_SCAN_SECONDS": "4"},  # this month's SP-12 is due
    "agency-adapters": {"AGENCY_DEADLINE_SCAN_SECONDS": "0.5"},
}


def leases_in(metrics: str) -> dict[str, float]:
    """songtor_background_lease_held of one copy's /metrics, by lease."""
    return {sample.labels["lease"]: sample.value for family in text_string_to_metric_families(metrics)
            if family.name == "songtor_background_lease_held" for sample in family.samples}


def leases_held(url: str) -> dict[str, float]:
    return leases_in(httpx.get(f"{url}/metrics", timeout=5).text)


def holder_of(copies: list, lease: str) -> int:
    """Which copy holds `lease`, once exactly one does."""
    held = eventually(lambda: [leases_held(c.url).get(lease, 0.0) for c in copies],
                      until=lambda values: sorted(values) == [0.0, 1.0], timeout=30)
    return held.index(1.0)


def late_assignments(count: int) -> list:
    """Referrals assigned 60 days ago to employment, of people in Chachoengsao (province 24: not in
    the Sukhothai counts below)."""
    long_ago, rng = datetime.now(UTC) - timedelta(days=60), random.Random()
    events = []
    for _ in range(count):
        body = intake_for(thai_national_id(rng), needs=["job_registration"], subdistrict="240101")
        intake = intake_event(body, intake_id=str(uuid.uuid4()), received_at=long_ago)
        (routed,) = route_intake(intake=intake, catalog=default_catalog(), routed_at=long_ago)
        events.append(routed.event)
    return events


def expected_notices(events: list) -> set[tuple[str, str, str]]:
    today = datetime.now(BANGKOK).date()
    return {(event.referral_id, breach.stage, level) for event in events
            for breach in breaches(status="received", assigned_on=event.occurred_at.astimezone(BANGKOK).date(),
                                   today=today, policy=DeadlinePolicy(), final=False)
            for level in breach.levels}


async def submit_all(urls: list[str], bodies: list[dict], *, clerk: httpx.Auth, after_each) -> list[dict]:  # noqa: ANN001
    """Every body until it is accepted, sent to the copies in turn; a refused connection or a 5xx
    is retried on the other copy with the same Idempotency-Key, as a load balancer would."""
    accepted: list[dict] = []
    semaphore = asyncio.Semaphore(8)
    async with httpx.AsyncClient(timeout=30, auth=clerk) as client:

        async def submit(number: int, body: dict) -> None:
            key, copy = {"Idempotency-Key": f"two-copies-{uuid.uuid4()}"}, number % 2
            async with semaphore:
                for _ in range(120):
                    try:
                        response = await client.post(f"{urls[copy]}/v1/intakes", json=body, headers=key)
                        if response.status_code < 500:
                            break
                    except httpx.TransportError:
                        pass
                    copy = 1 - copy
                    await asyncio.sleep(0.25)
                assert response.status_code == 202, response.text
                accepted.append(response.json())
            await after_each(len(accepted))

        await asyncio.gather(*(submit(number, body) for number, body in enumerate(bodies)))
    return accepted


async def test_two_copies_of_every_service_give_exact_results_when_one_copy_of_each_is_killed(
    start_service, database_url, kafka_env, identity
):
    began = time.monotonic()
    copies = {name: [start_service(name, {"SONGTOR_LEASE_TTL_SECONDS": str(TTL), **EXTRA_ENV.get(name, {})},
                                   database=url, label=f"{name}-{number}", wait=None) for number in (1, 2)]
              for name, url in ((name, database_url(name)) for name in SERVICES)}
    for pair in copies.values():
        for process in pair:
            process.wait_healthy(timeout=120)
    started = time.monotonic()
    victims = {name: await asyncio.to_thread(holder_of, pair, VICTIM_LEASE[name]) for name, pair in copies.items()}
    survivors = {name: copies[name][1 - index] for name, index in victims.items()}

    topics, bootstrap = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"]), kafka_env["KAFKA_BOOTSTRAP_SERVERS"]
    late = late_assignments(2 * LATE_EACH_SIDE)

    async def put_late(events: list) -> None:
        await produce(bootstrap, topics.referral_assigned("employment"),
                      [(e.referral_id.encode(), e.model_dump_json().encode()) for e in events])

    await put_late(late[:LATE_EACH_SIDE])
    rng = random.Random(2027)
    bodies = [intake_for(thai_national_id(rng)) for _ in range(INTAKES)]
    killed_at: list[float] = []
    took_over: dict[str, float] = {}

    async def watch_takeover(name: str) -> None:
        """When the survivor of `name` first says it holds the killed holder's lease."""
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    text = (await client.get(f"{survivors[name].url}/metrics")).text
                    if leases_in(text).get(VICTIM_LEASE[name]) == 1.0:
                        took_over[name] = time.monotonic() - killed_at[0]
                        return
                await asyncio.sleep(0.1)

    watchers: list[asyncio.Task] = []

    async def kill_midway(count: int) -> None:
        if count == INTAKES // 2 and not killed_at:
            for name, index in victims.items():
                copies[name][index].kill_hard()
            killed_at.append(time.monotonic())
            watchers.extend(asyncio.create_task(watch_takeover(name)) for name in survivors)
            await put_late(late[LATE_EACH_SIDE:])  # only a survivor can announce these

    accepted = await submit_all([c.url for c in copies["intake"]], bodies, clerk=identity.auth("clerk-6406"),
                                after_each=kill_midway)
    assert killed_at
    assert len({a["intake_id"] for a in accepted}) == INTAKES
    referral_ids = [r["referral_id"] for a in accepted for r in a["referrals"]]
    expected = INTAKES * NEEDS_EACH
    assert len(set(referral_ids)) == expected

    # Each survivor took its service's lease over from the killed holder, within the ttl and a third
    # (and the time its loop and ours take to see it, on a machine busy with eight services).
    await asyncio.wait_for(asyncio.gather(*watchers), timeout=30)
    assert max(took_over.values()) <= TTL * 4 / 3 + 4, took_over

    # Reporting counts each referral once, every one received by its agency.
    month = datetime.now(BANGKOK).strftime("%Y-%m")
    reporting, office = survivors["reporting"], identity.auth("province-64")
    report = await asyncio.to_thread(
        eventually,
        lambda: httpx.get(f"{reporting.url}/v1/reports/monthly", params={"province": "64", "month": month},
                          auth=office, timeout=10).json(),
        until=lambda r: r.get("by_status", {}).get("received") == expected, timeout=120, interval=1.0)
    assert report["total"] == expected
    assert report["by_agency"] == {"employment": INTAKES, "skills": INTAKES, "welfare": 0,
                                   "social_security": 2 * INTAKES}

    # Each agency holds each of its referrals once, as its officers in Sukhothai see them.
    stored: list[str] = []
    async with httpx.AsyncClient(base_url=survivors["agency-adapters"].url, timeout=30) as client:
        for agency in ("employment", "skills", "social_security"):
            offset, officer = 0, identity.auth(f"officer-{agency}-64")
            while rows := (await client.get(f"/v1/agencies/{agency}/referrals", auth=officer,
                                            params={"limit": 1000, "offset": offset})).json()["referrals"]:
                stored += [row["referral_id"] for row in rows]
                offset += len(rows)
    assert sorted(stored) == sorted(referral_ids)

    # The overdue watch: each rung of each late referral announced once, the last ones by the survivor.
    wanted = expected_notices(late)
    assert {referral for referral, _, _ in wanted} == {e.referral_id for e in late}

    async def notices() -> dict[tuple[str, str, str], set[str]]:
        found = defaultdict(set)
        for record in await read_to_end(bootstrap, topics.referral_overdue):
            notice = json_of(record)
            found[(notice["referral_id"], notice["stage"], notice["escalation_level"])].add(notice["occurred_at"])
        return found

    deadline = time.monotonic() + 30
    while set(announced := await notices()) != wanted and time.monotonic() < deadline:
        await asyncio.sleep(1)
    assert set(announced) == wanted
    assert {key: len(times) for key, times in announced.items() if len(times) != 1} == {}

    # The month close: every version of this month's SP-12 of 6406 filed once, the last one with everybody.
    key = f"sp12/6406/{month}"

    async def versions() -> dict[int, set[tuple[str, str]]]:
        found = defaultdict(set)
        for record in await read_to_end(bootstrap, topics.report_published):
            event = json_of(record)
            if event["report_key"] == key:
                found[event["version"]].add((event["closed_at"], event["content_sha256"], event["people"]))
        return found

    deadline = time.monotonic() + 60
    while (not (filed := await versions()) or next(iter(filed[max(filed)]))[2] != INTAKES) \
            and time.monotonic() < deadline:
        await asyncio.sleep(1)
    assert filed and next(iter(filed[max(filed)]))[2] == INTAKES, {v: sorted(c) for v, c in filed.items()}
    assert sorted(filed) == list(range(1, max(filed) + 1))
    assert {version: len(closings) for version, closings in filed.items() if len(closings) != 1} == {}
    published = Counter(json_of(r)["report_key"] for r in await read_to_end(bootstrap, topics.report_published))
    print(f"two copies: started in {started - began:.0f} s; killed {sorted(victims)} holders; leases taken over "
          f"after {', '.join(f'{n} {t:.1f} s' for n, t in sorted(took_over.items()))}; {len(announced)} overdue notices; {max(filed)} versions of {key} "
          f"({published[key]} records); {time.monotonic() - began:.0f} s in all")
