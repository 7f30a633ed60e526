"""What the pipeline benchmark sends and how it sees the result, from outside only: intakes POSTed
over HTTP with a clerk's token from Keycloak, a sheet uploaded to the bulk API, and the count read
back from reporting (`GET /v1/reports/monthly` with a provincial officer's token)."""

import asyncio
import csv
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

CLERK, READER, PROVINCE, ORG_UNIT = "clerk-6406", "province-64", "64", "6406"
# One need per agency, so each intake fans out to all four agency topics.
NEEDS = ("job_registration", "skill_training", "wage_rights", "ss_article40_enrolment")
AGENCIES = ("employment", "skills", "welfare", "social_security")
BANGKOK = ZoneInfo("Asia/Bangkok")
_TOKEN_SECONDS = 240  # Keycloak's demo realm issues 5-minute tokens


def national_id(rng: random.Random) -> str:
    from stdnum.th import pin

    first12 = str(rng.randint(1, 8)) + f"{rng.randrange(10 ** 11):011d}"
    return first12 + pin.calc_check_digit(first12)


def intake_body(*, rng: random.Random, needs: tuple[str, ...] = NEEDS) -> dict:
    """A valid intake of a new person (a new national ID each time: nothing joins an open referral)."""
    return {
        "source": {"program": "rehab_center", "org_unit": ORG_UNIT, "reported_by": f"officer-{rng.randrange(40):04d}"},
        "person": {"national_id": national_id(rng), "full_name": "สมชาย ใจดี", "sex": "male",
                   "birth_date": f"19{rng.randint(60, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                   "phone": f"08{rng.randrange(10 ** 8):08d}", "worker_type": "informal",
                   "address": {"subdistrict_code": "640601"}},
        "needs": [{"code": code} for code in needs],
        "consent": {"share_with_agencies": True, "recorded_at": datetime.now(UTC).isoformat(timespec="seconds")},
    }


class Tokens:
    """Access tokens of the demo users from the bench's Keycloak (password grant of the CLI client),
    renewed before they expire."""

    def __init__(self, *, issuer: str) -> None:
        self._url = f"{issuer}/protocol/openid-connect/token"
        self._cache: dict[str, tuple[float, str]] = {}
        # One renewal at a time: the realm guards against brute force, and logins of one user less than
        # a second apart count as failed (32 clients renewing together locked the clerk out for a minute).
        self._lock = asyncio.Lock()

    async def header(self, user: str) -> dict[str, str]:
        async with self._lock:
            fetched = self._cache.get(user)
            if fetched is None or time.monotonic() - fetched[0] > _TOKEN_SECONDS:
                fetched = (time.monotonic(), await self._fetch(user))
                self._cache[user] = fetched
        return {"Authorization": f"Bearer {fetched[1]}"}

    async def _fetch(self, user: str) -> str:
        async with httpx.AsyncClient(timeout=30) as client:
            for attempt in range(3):
                answer = await client.post(self._url, data={"grant_type": "password", "client_id": "songtor-cli",
                                                            "username": user, "password": user})
                if answer.status_code == 200 or attempt == 2:
                    answer.raise_for_status()
                    return answer.json()["access_token"]
                await asyncio.sleep(5)
        raise AssertionError("unreachable")


@dataclass
class Posted:
    """Intakes answered 202: intake_id -> monotonic time of the answer."""

    accepted: dict[str, float] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    first: float = 0.0
    last: float = 0.0


async def _post_one(client: httpx.AsyncClient, *, url: str, tokens: Tokens, body: dict, posted: Posted) -> None:
    try:
        answer = await client.post(f"{url}/v1/intakes", json=body, headers=await tokens.header(CLERK))
    except httpx.HTTPError as exc:
        posted.refused.append(repr(exc))
        return
    now = time.monotonic()
    if answer.status_code == 202:
        posted.accepted[answer.json()["intake_id"]] = now
        posted.last = max(posted.last, now)
    else:
        posted.refused.append(f"{answer.status_code} {answer.text[:300]}")


async def post_all(*, url: str, tokens: Tokens, bodies: list[dict], concurrency: int) -> Posted:
    """As fast as `concurrency` clients can: each sends its next intake as soon as the last is answered."""
    posted, queue = Posted(), list(reversed(bodies))
    await tokens.header(CLERK)  # the first token is not part of the timing

    async def client_loop(client: httpx.AsyncClient) -> None:
        while queue:
            await _post_one(client, url=url, tokens=tokens, body=queue.pop(), posted=posted)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        posted.first = time.monotonic()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    return posted


async def post_steadily(*, url: str, tokens: Tokens, bodies: list[dict], per_second: float, posted: Posted) -> Posted:
    """Open loop: intake i is sent at start + i / per_second whatever the answers before it, so a slow
    answer shows up as latency instead of lowering the rate offered. Fills `posted` as answers come
    (a watcher reads it meanwhile)."""
    await tokens.header(CLERK)
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=256)) as client:
        posted.first = time.monotonic()
        sending = []
        for i, body in enumerate(bodies):
            delay = posted.first + i / per_second - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sending.append(asyncio.create_task(_post_one(client, url=url, tokens=tokens, body=body, posted=posted)))
        await asyncio.gather(*sending)
    return posted


def months_between(start: datetime, end: datetime) -> list[str]:
    """The Asia/Bangkok months an interval touches (a run across midnight of a month's end counts both)."""
    first, last = start.astimezone(BANGKOK).strftime("%Y-%m"), end.astimezone(BANGKOK).strftime("%Y-%m")
    return [first] if first == last else [first, last]


async def counts(*, url: str, tokens: Tokens, months: list[str]) -> tuple[int, int]:
    """(referrals counted under one of the four agencies, referrals counted as received) in the province,
    summed over `months`: one GET /v1/reports/monthly per month, read from reporting's rollups."""
    assigned = received = 0
    async with httpx.AsyncClient(timeout=30) as client:
        for month in months:
            answer = await client.get(f"{url}/v1/reports/monthly", params={"province": PROVINCE, "month": month},
                                      headers=await tokens.header(READER))
            answer.raise_for_status()
            found = answer.json()
            assigned += sum(found["by_agency"].get(agency, 0) for agency in AGENCIES)
            received += found["by_status"].get("received", 0)
    return assigned, received


@dataclass
class Caught:
    assigned_at: float | None = None
    received_at: float | None = None
    assigned: int = 0
    received: int = 0


async def wait_counted(*, url: str, tokens: Tokens, since: datetime, before: tuple[int, int], expected: int,
                       timeout: float) -> Caught:
    """Polls the report until `expected` more referrals than `before` are counted received; notes when
    they were all counted under their agency (routing's hop) and when all received (the last hop).
    A timeout returns what was counted by then, never more."""
    caught, started = Caught(), time.monotonic()
    while time.monotonic() < started + timeout:
        now = time.monotonic()
        # Every 2 % of the time so far (0.2-2 s): the timing error stays near 2 %, and a slow pipeline
        # is not charged for hundreds of report reads (each costs reporting a token check and a query).
        interval = min(2.0, max(0.2, (now - started) / 50))
        assigned, received = await counts(url=url, tokens=tokens, months=months_between(since, datetime.now(UTC)))
        caught.assigned, caught.received = assigned - before[0], received - before[1]
        if caught.assigned_at is None and caught.assigned >= expected:
            caught.assigned_at = now
        if caught.received >= expected:
            caught.received_at = now
            caught.assigned_at = caught.assigned_at or now
            return caught
        await asyncio.sleep(interval)
    return caught


# ------------------------------------------------------------------ sheet --

SHEET_HEADERS = ["Program", "org_unit", "reported by", "National ID", "full_name", "sex", "birth_date", "phone",
                 "worker_type", "subdistrict_code", "needs", "need_note", "consent_to_share"]


def write_sheet(path: Path, *, rows: int, seed: int = 13) -> None:
    """A valid sheet of `rows` people, one need per row, the four agencies' needs in turn."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(SHEET_HEADERS)
        for number in range(rows):
            writer.writerow(["tpmap", ORG_UNIT, f"officer-{number % 40:04d}", national_id(rng), "มาลี ศรีสุข", "หญิง",
                             f"19{rng.randint(60, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                             f"08{rng.randrange(10 ** 8):08d}", "informal", "640601", NEEDS[number % len(NEEDS)],
                             "", "yes"])


async def upload_sheet(*, url: str, tokens: Tokens, sheet: Path, timeout: float,
                       progress: Callable[[dict], None]) -> tuple[float, dict]:
    """Uploads the sheet and follows its job to the end; (monotonic time of the upload's start, final status)."""
    async with httpx.AsyncClient(timeout=600) as client:
        started = time.monotonic()
        with sheet.open("rb") as file:
            answer = await client.post(f"{url}/v1/intakes/bulk", files={"file": (sheet.name, file, "text/csv")},
                                       headers=await tokens.header(CLERK))
        if answer.status_code != 202:
            raise RuntimeError(f"upload refused: {answer.status_code} {answer.text[:500]}")
        status_url = f"{url}/v1/intake-jobs/{answer.json()['job_id']}"
        deadline, last_report = started + timeout, 0.0
        while time.monotonic() < deadline:
            status = (await client.get(status_url, headers=await tokens.header(CLERK))).json()
            if status["state"] in ("done", "failed"):
                return started, status
            if time.monotonic() - last_report > 30:
                progress(status)
                last_report = time.monotonic()
            await asyncio.sleep(1)
    raise RuntimeError(f"the sheet's job did not end within {timeout:.0f} s")
