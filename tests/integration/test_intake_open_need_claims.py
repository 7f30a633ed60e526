"""Dedupe across intake processes, on SQLite and PostgreSQL: two intakes of one person and need,
taken in by two processes (two engines on one database) whose reads of the open referrals both
happen before either commits, open one referral: the second one's claim of the need fails, and
taken in again it joins the first one's referral, with the answer (and the Idempotency-Key's
stored answer) saying so. The same inside a group commit, whose other intakes are still taken.
A claim whose referral closed is replaced by the next opening; a transferred referral's
continuation is joined as before."""

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable

import pytest
from sqlmodel import select

from intake import repository
from intake.group_commit import GroupCommitter
from intake.models import TABLES, ReferralStatusRecord
from intake.request import IntakeRequest
from intake.scope import Submitter
from intake.statuses import StatusChange, record_statuses
from intake.submission import Answer, IntakeDesk, Submission, fingerprint, submit_one
from shared import ids
from shared.catalog import default_catalog
from shared.db import OutboxRelay, create_tables, make_engine, session_factory
from shared.topics import Topics
from tests.support.examples import intake_for, thai_national_id
from tests.support.sealing import MASTER_KEYS

pytestmark = pytest.mark.integration

SUBMITTER = Submitter("clerk-6406", org_units=frozenset({"6406"}))
NEED = "job_registration"


@pytest.fixture
async def two_processes(database_url) -> AsyncIterator[tuple[IntakeDesk, IntakeDesk]]:  # noqa: ANN001
    """Two intake desks on one database, each with its own engine, as two intake processes."""
    url = database_url("intake")
    engines = [make_engine(url), make_engine(url)]
    await create_tables(engines[0], TABLES)
    try:
        # The relays are never run: what is published is not under test here.
        yield tuple(IntakeDesk(catalog=default_catalog(), sessions=session_factory(engine),  # type: ignore[misc]
                               relay=OutboxRelay(engine=engine, broker=None),  # type: ignore[arg-type]
                               topics=Topics(prefix="t."), person_ref_key="k", master_keys=MASTER_KEYS)
                    for engine in engines)
    finally:
        for engine in engines:
            await engine.dispose()


def submission(body: dict, key: str | None = None) -> Submission:
    return Submission(IntakeRequest.model_validate(body), SUBMITTER, idempotency_key=key,
                      fingerprint=fingerprint(json.dumps(body).encode()) if key else None)


def reads_held_together(monkeypatch, *, parties: int) -> Callable[[], int]:  # noqa: ANN001
    """The first `parties` reads of the open referrals each wait, once done, until all of them
    are done: every submit path has seen the database before any of them writes. Later reads
    (a retry, a split group) pass at once. Returns how many reads there were."""
    read = repository.open_referrals_of
    calls = 0
    everyone_read = asyncio.Event()

    async def held(session, **kwargs):  # noqa: ANN001, ANN003, ANN202
        nonlocal calls
        found = await read(session, **kwargs)
        calls += 1
        if calls <= parties:
            if calls == parties:
                everyone_read.set()
            await asyncio.wait_for(everyone_read.wait(), timeout=30)
        return found

    monkeypatch.setattr(repository, "open_referrals_of", held)
    return lambda: calls


async def known_person(desk: IntakeDesk, rng: random.Random) -> dict:
    """A person taken in once before (for another need), so that they hold a key: two first
    intakes of a new person would also collide on the person's key, and hide the race."""
    body = intake_for(thai_national_id(rng), needs=["skill_training"])
    assert (await submit_one(desk, submission(body))).status_code == 202
    body["needs"] = [{"code": NEED}]
    return body


async def referrals_of(desk: IntakeDesk, body: dict, need: str = NEED) -> list[ReferralStatusRecord]:
    person_ref = ids.person_ref(national_id=body["person"]["national_id"], key=desk.person_ref_key)
    async with desk.sessions() as session:
        rows = await session.exec(select(ReferralStatusRecord).where(
            ReferralStatusRecord.person_ref == person_ref, ReferralStatusRecord.need_code == need))
        return list(rows.all())


def opened_and_joined(answers: list[Answer]) -> tuple[str, list[Answer]]:
    """The one referral opened among `answers`, and the answers that joined it instead."""
    opened = [a for a in answers if a.body["referrals"]]
    assert len(opened) == 1, [a.body for a in answers]
    referral_id = opened[0].body["referrals"][0]["referral_id"]
    joined = [a for a in answers if a is not opened[0]]
    assert all(a.body["joined_open_referrals"] == [{"need_code": NEED, "referral_id": referral_id}] and
               a.body["referrals"] == [] for a in joined)
    return referral_id, joined


async def test_two_processes_taking_in_one_need_at_once_open_one_referral(two_processes, monkeypatch):
    first, second = two_processes
    body = await known_person(first, random.Random(31))
    reads = reads_held_together(monkeypatch, parties=2)

    answers = await asyncio.gather(submit_one(first, submission(body, "from-first")),
                                   submit_one(second, submission(body, "from-second")))

    assert [a.status_code for a in answers] == [202, 202]
    referral_id, _ = opened_and_joined(answers)
    assert [row.referral_id for row in await referrals_of(first, body)] == [referral_id]
    assert reads() == 3, "both read before either wrote, and the one refused read again"
    # A retry of each request replays the answer it got: the stored answer is the one given.
    again = [await submit_one(first, submission(body, "from-first")),
             await submit_one(second, submission(body, "from-second"))]
    assert [a.body for a in again] == [a.body for a in answers]


async def test_a_group_whose_need_another_process_claimed_joins_it_and_takes_the_rest(two_processes, monkeypatch):
    first, second = two_processes
    rng = random.Random(32)
    body = await known_person(first, rng)
    others = [intake_for(thai_national_id(rng), needs=[NEED]) for _ in range(3)]
    reads_held_together(monkeypatch, parties=2)
    committer = GroupCommitter(desk=first)
    group = [submission(body, "in-a-group"), *(submission(other, f"other-{i}") for i, other in enumerate(others))]

    async def the_group() -> list[Answer]:
        return list(await asyncio.gather(*(committer.submit(s) for s in group)))

    grouped, alone = await asyncio.gather(the_group(), submit_one(second, submission(body, "alone")))

    assert [a.status_code for a in grouped] == [202] * 4 and alone.status_code == 202
    referral_id, _ = opened_and_joined([grouped[0], alone])
    assert [row.referral_id for row in await referrals_of(first, body)] == [referral_id]
    for other, answer in zip(others, grouped[1:], strict=True):
        assert [r["need_code"] for r in answer.body["referrals"]] == [NEED], "the rest of the group opens its own"
        assert len(await referrals_of(first, other)) == 1
    replayed = await submit_one(first, submission(body, "in-a-group"))
    assert replayed.body == grouped[0].body, "the key keeps the answer its intake was given"


async def test_a_closed_referrals_claim_is_replaced_and_a_transfers_continuation_is_joined(two_processes):
    desk, other_process = two_processes
    body = await known_person(desk, random.Random(33))
    opened = await submit_one(desk, submission(body))
    first_id = opened.body["referrals"][0]["referral_id"]
    async with desk.sessions() as session:
        await record_statuses(session, changes=[StatusChange(referral_id=first_id, status="completed", version=5)])
        await session.commit()

    reopened = await submit_one(other_process, submission(body))
    assert reopened.body["joined_open_referrals"] == [], "a completed referral is not joined"
    second_id = reopened.body["referrals"][0]["referral_id"]
    joined = await submit_one(desk, submission(body))
    assert joined.body["joined_open_referrals"] == [{"need_code": NEED, "referral_id": second_id}]

    # Transferred to another agency: the continuation is the open referral the need joins.
    continuation = ids.transferred_referral_id(referral_id=second_id, to_agency="skills")
    async with desk.sessions() as session:
        await repository.add_continuation(session, referral_id=continuation, transferred_from=second_id)
        await record_statuses(session, changes=[StatusChange(referral_id=second_id, status="transferred", version=4),
                                                StatusChange(referral_id=continuation, status="assigned", version=1)])
        await session.commit()
    after_transfer = await submit_one(other_process, submission(body))
    assert after_transfer.body["joined_open_referrals"] == [{"need_code": NEED, "referral_id": continuation}]
    assert sorted(row.referral_id for row in await referrals_of(desk, body)) == sorted(
        [first_id, second_id, continuation])
