"""A batch gives the database that one transaction per event gives (reporting.effects), on SQLite
and PostgreSQL: a consumer's batch can hold several events about the same referral (its updates,
its assignment and the assignment of the transfer that continues it), each of which must see
what the one before it in the batch did, and a batch's facts are loaded, changed in memory and
written together. Checked on one transfer's events, with the intake before and after, and on the
whole report scenario, each family's events as one batch in several orders, one transaction per
batch and all families in one transaction."""

import random

import pytest

from reporting import rollups
from reporting.models import TABLES
from shared.db import create_tables, make_engine, session_factory
from tests.support import report_scenario as scenario
from tests.support.report_reading import apply_events, apply_in_one_transaction, facts

pytestmark = pytest.mark.integration
KEY = "batch-test-key"
AGREE = {"monthly_referral_counts": {}, "monthly_service_counts": {}}
KINDS = ("intake", "assigned", "updated", "unroutable")


async def database(url: str, events: list, *, apply) -> dict:  # noqa: ANN001
    engine = make_engine(url)
    try:
        await create_tables(engine, TABLES)
        sessions = session_factory(engine)
        await apply(sessions, events)
        async with sessions() as session:
            assert await rollups.drift(session) == AGREE
        return await facts(sessions)
    finally:
        await engine.dispose()


def by_family(events: list, *, kinds: tuple[str, ...]) -> list:
    """The events regrouped so each family's are consecutive (one batch each, `kinds` order),
    keeping the given order within a family."""
    return [pair for kind in kinds for pair in events if pair[0] == kind]


async def one_batch_per_family(sessions, events: list) -> None:  # noqa: ANN001
    """Each family's run of events as one batch in its own transaction, as its consumer would."""
    start = 0
    while start < len(events):
        end = start
        while end < len(events) and events[end][0] == events[start][0]:
            end += 1
        await apply_in_one_transaction(sessions, events[start:end])
        start = end


def transfer_events() -> list:
    """s14's intake, her need's assignment and moves up to its transfer to skills, the
    continuation's assignment (inheriting the intake) and its moves to its outcome."""
    person = scenario.person_by_slug("s14")
    intake_id = scenario.intake_id(person)
    return [(kind, event) for kind, event in scenario.scenario_events(person_ref_key=KEY)
            if event.correlation_id == intake_id or getattr(event, "intake_id", None) == intake_id]


async def test_one_transfer_in_one_batch_per_family_equals_one_event_per_transaction(database_url):
    events = transfer_events()
    assert [kind for kind, _ in events].count("assigned") == 2, "the need's assignment and the continuation's"
    assert [kind for kind, _ in events].count("updated") >= 4
    expected = await database(database_url("one_per_transaction"), events, apply=apply_events)
    assert len(expected["referral_facts"]) == 2 and expected["monthly_referral_counts"]
    rng = random.Random(1313)
    orders = {"in_order": events, "reversed": events[::-1], "shuffled": rng.sample(events, len(events))}
    family_orders = [KINDS, KINDS[::-1], ("updated", "assigned", "intake", "unroutable")]
    for name, order in orders.items():
        for n, kinds in enumerate(family_orders):
            grouped = by_family(order, kinds=kinds)
            # The continuation's assignment delivered twice in its batch: applied once.
            twice = grouped + [pair for pair in grouped if getattr(pair[1], "transferred_from", None)]
            twice = by_family(twice, kinds=kinds)
            for how, apply in (("batches", one_batch_per_family), ("one_transaction", apply_in_one_transaction)):
                found = await database(database_url(f"{name}_{n}_{how}"), twice, apply=apply)
                assert found == expected, f"{name}, families {kinds}, {how}"


async def test_the_scenario_in_one_batch_per_family_equals_one_event_per_transaction(database_url):
    events = scenario.scenario_events(person_ref_key=KEY)
    expected = await database(database_url("one_per_transaction"), events, apply=apply_events)
    shuffled = random.Random(20260925).sample(events, len(events))
    for name, order, kinds in (("in_order", events, KINDS), ("reversed", events[::-1], KINDS[::-1]),
                               ("shuffled", shuffled, ("assigned", "intake", "unroutable", "updated"))):
        grouped = by_family(order, kinds=kinds)
        for how, apply in (("batches", one_batch_per_family), ("one_transaction", apply_in_one_transaction)):
            found = await database(database_url(f"{name}_{how}"), grouped, apply=apply)
            assert found == expected, f"{name}, {how}"
