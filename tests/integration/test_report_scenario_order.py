"""The reporting effects (reporting.effects) give the same database whatever order the events
come in: the order they happened, reversed, and shuffled. The live consumers read topics and
partitions concurrently and the rebuild reads them one topic after another, so the rebuilt
reports can equal the live ones only if this holds. Reversed is the hard case: a transfer's
continuation before the referral it continues, updates before assignments, a person's corrected
name before the misspelt one. The first order's forms are also the expected files."""

import random
from pathlib import Path

import pytest

from reporting import rollups
from reporting.forms import read_csv_rows, render
from reporting.models import TABLES
from shared.db import create_tables, make_engine, session_factory
from tests.support import report_scenario as scenario
from tests.support.report_reading import apply_events, facts, import_scenario_registry, reports, scenario_forms

pytestmark = pytest.mark.integration
KEY = "scenario-order-test-key"
EXPECTED = Path(__file__).resolve().parents[1] / "fixtures" / "report-scenario"


async def replayed(url: str, events: list, directory: Path) -> tuple[dict, dict, dict]:
    engine = make_engine(url)
    try:
        await create_tables(engine, TABLES)
        await import_scenario_registry(engine, directory, person_ref_key=KEY)
        sessions = session_factory(engine)
        await apply_events(sessions, events)
        async with sessions() as session:
            assert await rollups.drift(session) == {"monthly_referral_counts": {}, "monthly_service_counts": {}}
            forms = {stem: render(form, fmt="csv") for stem, form in (await scenario_forms(session)).items()}
        return await facts(sessions), await reports(sessions), forms
    finally:
        await engine.dispose()


async def test_any_order_of_the_scenario_events_gives_the_same_facts_and_reports(database_url, tmp_path):
    events = scenario.scenario_events(person_ref_key=KEY)
    shuffled = events[:]
    random.Random(20260925).shuffle(shuffled)
    in_order = await replayed(database_url("in_order"), events, tmp_path)
    for name, other in (("reversed", events[::-1]), ("shuffled", shuffled)):
        found = await replayed(database_url(name), other, tmp_path)
        assert found[0] == in_order[0], f"{name}: facts differ"
        for report in in_order[1]:
            assert found[1][report] == in_order[1][report], f"{name}: {report} differs"
    for stem, body in in_order[2].items():
        assert read_csv_rows(body) == read_csv_rows((EXPECTED / f"{stem}.csv").read_bytes()), stem
