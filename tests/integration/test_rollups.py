"""The monthly rollups (reporting.rollups) stay equal to a GROUP BY of the facts: under events
applied by several consumers at once (on PostgreSQL, concurrent transactions on shared rollup
rows), after a backfill of facts that predate them, and as read by the monthly summary."""

import asyncio
import random

import pytest
from sqlalchemy import delete, update
from sqlmodel import select

from reporting import rollups
from reporting.models import TABLES, MonthlyReferralCount, ReferralFact, RollupState
from reporting.monthly import monthly_summary
from shared.db import create_tables, make_engine, session_factory
from tests.support import report_scenario as scenario
from tests.support.report_reading import BANGKOK, apply_events

pytestmark = pytest.mark.integration
KEY = "rollup-test-key"
AGREE = {"monthly_referral_counts": {}, "monthly_service_counts": {}}


@pytest.fixture
async def sessions(database_url):
    engine = make_engine(database_url("rollups"))
    await create_tables(engine, TABLES)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def facts_month_counts(sessions, *, province: str, month: str) -> dict[str, dict[str, int]]:
    """The monthly summary's four breakdowns counted from the facts themselves."""
    async with sessions() as session:
        found = (await session.exec(select(ReferralFact).where(
            ReferralFact.has_intake, ReferralFact.province_code == province, ReferralFact.intake_month == month))).all()
    counted: dict[str, dict[str, int]] = {}
    for name, column in (("by_status", "status"), ("by_category", "category"), ("by_worker_type", "worker_type")):
        for fact in found:
            value = getattr(fact, column) or "unassigned"
            counted.setdefault(name, {})[value] = counted.get(name, {}).get(value, 0) + 1
    return counted


async def test_concurrent_consumers_keep_the_rollups_equal_to_the_facts(sessions):
    events = scenario.scenario_events(person_ref_key=KEY)
    random.Random(7).shuffle(events)
    # Four "consumers" at once, each on its own share: updates of one referral race with its
    # assignment and intake, and every one of them moves counts in the same few rollup rows.
    await asyncio.gather(*(apply_events(sessions, events[n::4]) for n in range(4)))
    async with sessions() as session:
        assert await rollups.drift(session) == AGREE
    for province in scenario.PROVINCES:
        for month in (scenario.MONTH, "2026-10"):
            async with sessions() as session:
                summary = await monthly_summary(session, province=province, month=month, timezone=BANGKOK.key)
            expected = await facts_month_counts(sessions, province=province, month=month)
            assert {name: summary[name] for name in expected} == expected, (province, month)
            assert summary["total"] == sum(expected.get("by_status", {}).values())
    async with sessions() as session:
        total = (await session.exec(select(MonthlyReferralCount))).all()
    assert sum(row.referrals for row in total) > 0, "the scenario has referrals: the rollups cannot be empty"


async def test_a_database_from_before_the_rollups_is_filled_once_and_kept_from_then_on(sessions):
    events = scenario.scenario_events(person_ref_key=KEY)
    # Facts of every intake and assignment, made as an older version would: rollups not kept.
    first = [(kind, event) for kind, event in events if kind in ("intake", "assigned")]
    later = [(kind, event) for kind, event in events if kind not in ("intake", "assigned")]
    await apply_events(sessions, first)
    async with sessions() as session:
        await session.exec(delete(MonthlyReferralCount))  # type: ignore[call-overload]
        await session.commit()
        lost = await rollups.drift(session)
    assert lost["monthly_referral_counts"], "with the rollups emptied, drift must see the difference"

    async with sessions() as session:
        facts = len((await session.exec(select(ReferralFact).where(ReferralFact.has_intake))).all())
    assert await rollups.backfill(sessions) == facts
    assert await rollups.backfill(sessions) is None, "a second start must not count the facts again"
    async with sessions() as session:
        assert await rollups.drift(session) == AGREE
        state = await session.get(RollupState, 1)
        assert state is not None and state.facts_at_fill == facts

    # From then on, status changes move counts between rows, as the live consumers do.
    await apply_events(sessions, later)
    async with sessions() as session:
        assert await rollups.drift(session) == AGREE


async def test_drift_names_the_row_that_disagrees(sessions):
    await apply_events(sessions, scenario.scenario_events(person_ref_key=KEY))
    async with sessions() as session:
        row = (await session.exec(select(MonthlyReferralCount).where(MonthlyReferralCount.referrals > 0))).first()
        assert row is not None
        before = row.referrals
        key = (row.province_code, row.intake_month, row.agency, row.category, row.status, row.worker_type)
        await session.exec(update(MonthlyReferralCount)  # type: ignore[call-overload]
                           .where(*(getattr(MonthlyReferralCount, name) == value for name, value in zip(
                               ("province_code", "intake_month", "agency", "category", "status", "worker_type"), key,
                               strict=True)))
                           .values(referrals=MonthlyReferralCount.referrals + 5))
        await session.commit()
        found = await rollups.drift(session)
    assert found["monthly_referral_counts"] == {key: (before + 5, before)}
