"""The one checker of the fault tests: what every side saw, against what the clerks were told.

The truth is the intakes' 202 answers: each names the referrals it opened (referral_id, need).
Each side is then read as it stands once the system has settled, and every referral is counted
as often as that side holds it:

- **agency**: every referral each agency lists to its own officers (the agency adapters' API);
- **reporting facts**: every fact row of reporting's database with its intake joined, received;
- **reporting counts**: what the monthly summary counts per agency (the rollups), which would
  count a referral twice if an effect were applied twice although the fact row is one.

`judge` is pure, so a negative control proves it catches a dropped and a doubled record
(tests/unit/test_fault_checker.py); `observe` reads the running services.
"""

import asyncio
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import create_engine, text

from tests.support.intake_stream import PROVINCE, agency_of_need

AGENCIES = ("employment", "skills", "welfare", "social_security")


@dataclass(frozen=True)
class Expected:
    """What the 202 answers promised: referral_id -> agency."""

    agency_of: Mapping[str, str]

    @classmethod
    def from_answers(cls, answers: Iterable[Mapping], *, agency_of_need: Mapping[str, str]) -> "Expected":
        return cls({r["referral_id"]: agency_of_need[r["need_code"]] for a in answers for r in a["referrals"]})

    def per_agency(self) -> dict[str, int]:
        counts = Counter(self.agency_of.values())
        return {agency: counts.get(agency, 0) for agency in AGENCIES}


@dataclass(frozen=True)
class Observation:
    """Each side's referrals, with repeats (a side holding one twice lists it twice), and the
    counts the summary shows per agency."""

    sides: Mapping[str, Sequence[str]]
    counted_per_agency: Mapping[str, int]


@dataclass
class Verdict:
    lost: dict[str, list[str]] = field(default_factory=dict)
    doubled: dict[str, list[str]] = field(default_factory=dict)
    unexpected: dict[str, list[str]] = field(default_factory=dict)
    miscounted: dict[str, tuple[int, int]] = field(default_factory=dict)  # agency -> (counted, expected)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.doubled or self.unexpected or self.miscounted)

    def figures(self) -> str:
        """One line for the test's output and the README's table."""
        def total(found: Mapping[str, list]) -> int:
            return sum(len(ids) for ids in found.values())
        return (f"lost {total(self.lost)}, doubled {total(self.doubled)}, unexpected {total(self.unexpected)}, "
                f"miscounted agencies {len(self.miscounted)}")

    def describe(self) -> str:
        lines = [self.figures()]
        for name, found in (("lost", self.lost), ("doubled", self.doubled), ("unexpected", self.unexpected)):
            lines += [f"  {name} at {side}: {len(ids)} e.g. {sorted(ids)[:5]}" for side, ids in found.items()]
        lines += [f"  summary counts {agency}: {counted}, expected {wanted}"
                  for agency, (counted, wanted) in self.miscounted.items()]
        return "\n".join(lines)


def judge(*, expected: Expected, observed: Observation) -> Verdict:
    verdict = Verdict()
    wanted = set(expected.agency_of)
    for side, referral_ids in observed.sides.items():
        held = Counter(referral_ids)
        if lost := sorted(wanted - held.keys()):
            verdict.lost[side] = lost
        if doubled := sorted(rid for rid, times in held.items() if times > 1):
            verdict.doubled[side] = doubled
        if unexpected := sorted(held.keys() - wanted):
            verdict.unexpected[side] = unexpected
    for agency, wanted_count in expected.per_agency().items():
        counted = observed.counted_per_agency.get(agency, 0)
        if counted != wanted_count:
            verdict.miscounted[agency] = (counted, wanted_count)
    return verdict


# ------------------------------------------------------------ observing --


async def agency_side(*, agency_url: str, officer_auth: Mapping[str, httpx.Auth]) -> list[str]:
    """Every referral each agency's officers see, page by page."""
    seen: list[str] = []
    async with httpx.AsyncClient(base_url=agency_url, timeout=30) as client:
        for agency, auth in officer_auth.items():
            offset = 0
            while rows := (await client.get(f"/v1/agencies/{agency}/referrals", params={"limit": 1000, "offset": offset},
                                            auth=auth)).json()["referrals"]:
                seen += [row["referral_id"] for row in rows]
                offset += len(rows)
    return seen


def reporting_facts(database_url: str) -> list[str]:
    """Reporting's fact rows that are whole (intake joined) and received, straight from its database."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT referral_id FROM referral_facts WHERE has_intake AND status = 'received'")).all()
    finally:
        engine.dispose()
    return [row[0] for row in rows]


async def summary_counts(*, reporting_url: str, auth: httpx.Auth, province: str) -> dict[str, int]:
    month = datetime.now(ZoneInfo("Asia/Bangkok")).strftime("%Y-%m")
    async with httpx.AsyncClient(base_url=reporting_url, timeout=30) as client:
        report = (await client.get("/v1/reports/monthly", params={"province": province, "month": month},
                                   auth=auth)).json()
    return {agency: report.get("by_agency", {}).get(agency, 0) for agency in AGENCIES}


async def observe(*, agency_url: str, officer_auth: Mapping[str, httpx.Auth], reporting_url: str,
                  reporting_database: str, province_auth: httpx.Auth, province: str) -> Observation:
    agency = await agency_side(agency_url=agency_url, officer_auth=officer_auth)
    facts = await asyncio.to_thread(reporting_facts, reporting_database)
    counted = await summary_counts(reporting_url=reporting_url, auth=province_auth, province=province)
    return Observation(sides={"agency": agency, "reporting facts": facts}, counted_per_agency=counted)


async def settled_verdict(*, expected: Expected, timeout: float, **where: object) -> Verdict:
    """The verdict once the system has caught up, or the last one seen when it never does: a fault
    test waits for recovery, and a record still missing at the end is reported as lost."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        verdict = judge(expected=expected, observed=await observe(**where))  # type: ignore[arg-type]
        if verdict.clean or loop.time() > deadline:
            return verdict
        await asyncio.sleep(2.0)


async def judge_stack(*, answers: Sequence[Mapping], services: Mapping, identity, timeout: float) -> Verdict:  # noqa: ANN001
    """The settled verdict on a running stack (`services` by name, as start_service.stack gives them),
    read with the demo officers', the province's tokens (Sukhothai, the contract example's)."""
    return await settled_verdict(
        expected=Expected.from_answers(answers, agency_of_need=agency_of_need()), timeout=timeout,
        agency_url=services["agency-adapters"].url,
        officer_auth={agency: identity.auth(f"officer-{agency}-{PROVINCE}") for agency in AGENCIES},
        reporting_url=services["reporting"].url,
        reporting_database=services["reporting"].env["REPORTING_DATABASE_URL"],
        province_auth=identity.auth(f"province-{PROVINCE}"), province=PROVINCE,
    )
