"""Group commit of HTTP intakes, on SQLite and PostgreSQL with the real broker.

200 intakes posted at once share transactions, yet each gets the answer it would have got alone:
every valid one is answered 202 and stored exactly once; a repeated Idempotency-Key replays the
first answer; a key reused for another body, an unknown need and an org unit not the clerk's are
refused as when sent alone; a person's need sent in ten intakes at once opens one referral. A
group whose transaction fails for one of its intakes (a key another process stored meanwhile, or
any error) is split, and the others are still taken."""

import asyncio
import json
import random
import uuid
from collections import defaultdict

import pytest
from prometheus_client import CollectorRegistry
from sqlmodel import func, select

from intake import domain, group_commit, repository
from intake.group_commit import GroupCommitter
from intake.main import build_app
from intake.models import TABLES, IdempotencyRecord, IntakeRecord, ReferralStatusRecord
from intake.request import IntakeRequest
from intake.scope import Submitter
from intake.settings import IntakeSettings
from intake.submission import IntakeDesk, Submission, fingerprint, submit_one
from shared.auth import OidcSettings
from shared.catalog import default_catalog
from shared.db import OutboxMessage, OutboxRelay, create_tables, make_engine, session_factory
from shared.kafka import build_broker
from shared.kafka.connection import broker_security
from shared.topics import Topics
from shared.privacy import PersonKeyRecord
from tests.support.examples import intake_for, thai_national_id
from tests.support.in_process import kafka_settings, running
from tests.support.tokens import LocalIssuer
from tests.support.sealing import MASTER_KEYS

pytestmark = pytest.mark.integration

ISSUER = LocalIssuer()
CLERK = ISSUER.headers("intake_clerk", subject="clerk-6406", org_units=("6406",))
SUBMITTER = Submitter("clerk-6406", org_units=frozenset({"6406"}))
# Kinds whose answer a second, lone request must repeat exactly (a replay or a refusal).
REPEATABLE = ("keyed", "retried", "key-reused", "unknown-need", "not-covered")


def person(rng: random.Random, *, needs: list[str] | None = None) -> dict:
    return intake_for(thai_national_id(rng), needs=needs or ["job_registration", "skill_training"])


def storm(rng: random.Random) -> list[tuple[str, dict, str | None]]:
    """200 requests, shuffled: (kind, body, Idempotency-Key)."""
    requests: list[tuple[str, dict, str | None]] = []
    requests += [("keyed", person(rng), uuid.uuid4().hex) for _ in range(110)]
    requests += [("no-key", person(rng), None) for _ in range(20)]
    for _ in range(15):  # a client's retry arriving while the first is still in flight
        key, body = uuid.uuid4().hex, person(rng)
        requests += [("retried", body, key), ("retried", body, key)]
    for _ in range(5):  # one key for two different intakes: the first committed stands, the other is 409
        key = uuid.uuid4().hex
        requests += [("key-reused", person(rng), key), ("key-reused", person(rng), key)]
    same = person(rng, needs=["job_registration"])
    requests += [("same-need", same, None) for _ in range(10)]
    for _ in range(10):
        body = person(rng)
        body["needs"].append({"code": "flying_lessons"})
        requests.append(("unknown-need", body, uuid.uuid4().hex))
    for _ in range(10):
        body = person(rng)
        body["source"]["org_unit"] = "2401"
        requests.append(("not-covered", body, uuid.uuid4().hex))
    rng.shuffle(requests)
    return requests


def recording_group_sizes(monkeypatch) -> list[int]:  # noqa: ANN001
    sizes: list[int] = []
    take_in = group_commit.take_in

    async def recorded(session, desk, submissions):  # noqa: ANN001, ANN202
        sizes.append(len(submissions))
        return await take_in(session, desk, submissions)

    monkeypatch.setattr(group_commit, "take_in", recorded)
    return sizes


async def session_refs(sessions) -> list[str]:  # noqa: ANN001
    async with sessions() as session:
        return list((await session.exec(select(IntakeRecord.person_ref))).all())


async def count(sessions, model) -> int:  # noqa: ANN001
    async with sessions() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_two_hundred_intakes_at_once_are_each_answered_as_if_alone(database_url, kafka_env, monkeypatch):
    url = database_url("intake")
    settings = IntakeSettings(database_url=url, kafka=kafka_settings(kafka_env, service="intake"),
                              oidc=OidcSettings(issuer=ISSUER.issuer))
    sizes = recording_group_sizes(monkeypatch)
    requests = storm(random.Random(13))
    assert len(requests) == 200

    async with running(ISSUER.trust(build_app(settings))) as client:
        def post(body: dict, key: str | None):  # noqa: ANN202
            return client.post("/v1/intakes", json=body, headers=CLERK | ({"Idempotency-Key": key} if key else {}))

        together = await asyncio.gather(*(post(body, key) for _, body, key in requests))
        # Then each repeatable one again, alone: the answer it gets by itself.
        alone = {i: await post(body, key) for i, (kind, body, key) in enumerate(requests) if kind in REPEATABLE}

    engine = make_engine(url)
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            stored = set((await session.exec(select(IntakeRecord.intake_id))).all())
            status = select(ReferralStatusRecord.intake_id, ReferralStatusRecord.need_code)
            referrals = (await session.exec(status)).all()
        intakes, keys, outbox = [await count(sessions, m) for m in (IntakeRecord, IdempotencyRecord, OutboxMessage)]
        person_keys = await count(sessions, PersonKeyRecord)
        people = set(await session_refs(sessions))
    finally:
        await engine.dispose()

    assert max(sizes) > 1, "intakes that arrived together shared a transaction"
    answers: dict[str, list] = defaultdict(list)
    for (kind, _body, key), answer in zip(requests, together, strict=True):
        answers[kind].append((key, answer.status_code, answer.json()))
    for i, by_itself in alone.items():
        lone, crowd = (by_itself.status_code, by_itself.json()), (together[i].status_code, together[i].json())
        assert lone == crowd, requests[i][0]

    accepted = {body["intake_id"] for kind in ("keyed", "no-key", "same-need") for _, status, body in answers[kind]
                if status == 202}
    assert len(accepted) == 110 + 20 + 10, "every valid intake without a twin is taken"
    by_key: dict[str, list] = defaultdict(list)
    for key, status, body in answers["retried"] + answers["key-reused"]:
        by_key[key].append((status, body))
    for key, pair in by_key.items():
        statuses = sorted(status for status, _ in pair)
        if key in {k for k, _, _ in answers["retried"]}:
            assert statuses == [202, 202] and pair[0][1] == pair[1][1], "the retry replays the first answer"
        else:
            assert statuses == [202, 409], "a key reused for another intake is refused, whichever came first"
        accepted.add(next(body["intake_id"] for status, body in pair if status == 202))
    assert {status for _, status, _ in answers["unknown-need"]} == {422}
    assert {status for _, status, _ in answers["not-covered"]} == {403}

    # One person's need ten times at once: the first opens a referral, the nine others join it.
    same = [body for _, _, body in answers["same-need"]]
    opened = [body for body in same if body["referrals"]]
    assert len(opened) == 1 and [r["need_code"] for r in opened[0]["referrals"]] == ["job_registration"]
    joined = [{"need_code": "job_registration", "referral_id": opened[0]["referrals"][0]["referral_id"]}]
    assert all(body["joined_open_referrals"] == joined for body in same if body is not opened[0])

    assert len(accepted) == 140 + 15 + 5
    assert stored == accepted, "every accepted intake is stored exactly once, and nothing else"
    # Each intake is queued once, after its person's key, which is issued and queued once per person.
    assert intakes == 160 and keys == 110 + 15 + 5
    assert person_keys == len(people) and outbox == intakes + person_keys
    same_ids = {body["intake_id"] for body in same}
    assert [need for intake_id, need in referrals if intake_id in same_ids] == ["job_registration"]


@pytest.fixture
async def desk(database_url, kafka_env):  # noqa: ANN001, ANN201
    engine = make_engine(database_url("intake"))
    await create_tables(engine, TABLES)
    login = kafka_settings(kafka_env, service="intake")
    broker = build_broker(bootstrap_servers=login.bootstrap_servers, service="test", registry=CollectorRegistry(),
                          security=broker_security(login))
    await broker.start()
    try:
        yield IntakeDesk(catalog=default_catalog(), sessions=session_factory(engine),
                         relay=OutboxRelay(engine=engine, broker=broker),
                         topics=Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"]), person_ref_key="k",
                         master_keys=MASTER_KEYS)
    finally:
        await broker.stop()
        await engine.dispose()


def submission(body: dict, key: str | None = None) -> Submission:
    return Submission(IntakeRequest.model_validate(body), SUBMITTER, idempotency_key=key,
                      fingerprint=fingerprint(json.dumps(body).encode()) if key else None)


async def test_a_key_another_process_stored_meanwhile_fails_the_group_and_only_that_intake_replays(desk, monkeypatch):
    rng = random.Random(5)
    first, other = person(rng), person(rng)
    earlier = await submit_one(desk, submission(first, "taken"))
    assert earlier.status_code == 202

    # As if another intake process stored "taken" after this group read its keys: the group's
    # insert of the key fails, every time the group (or a part of it) reads them.
    read = repository.get_idempotent_many

    async def before_the_other_process(session, *, keys):  # noqa: ANN001, ANN202
        return {key: found for key, found in (await read(session, keys=keys)).items() if key != "taken"}

    monkeypatch.setattr(repository, "get_idempotent_many", before_the_other_process)
    sizes = recording_group_sizes(monkeypatch)
    fresh = [person(rng) for _ in range(6)]
    group = [submission(body, uuid.uuid4().hex) for body in fresh[:3]]
    group += [submission(first, "taken"), submission(other, "taken")]
    group += [submission(body) for body in fresh[3:]]
    committer = GroupCommitter(desk=desk)
    outcomes = await asyncio.gather(*(committer.submit(s) for s in group))

    assert sizes[0] == len(group) and len(sizes) > 1, "one group first, then split"
    assert [o.status_code for o in outcomes] == [202, 202, 202, 202, 409, 202, 202, 202]
    assert outcomes[3].body == earlier.body, "the key's first answer stands"
    assert await count(desk.sessions, IntakeRecord) == 1 + 6
    assert await count(desk.sessions, IdempotencyRecord) == 1 + 3


async def test_an_intake_that_fails_fails_alone_and_the_rest_of_its_group_is_taken(desk, monkeypatch):
    rng = random.Random(6)
    bodies = [person(rng) for _ in range(9)]
    bodies[4]["person"]["full_name"] = "ทดสอบ ล้มเหลว"
    warnings = domain.intake_warnings

    def broken_for_one(*, request, today):  # noqa: ANN001, ANN202
        if request.person.full_name == "ทดสอบ ล้มเหลว":
            raise RuntimeError("this one intake breaks")
        return warnings(request=request, today=today)

    monkeypatch.setattr(domain, "intake_warnings", broken_for_one)
    sizes = recording_group_sizes(monkeypatch)
    committer = GroupCommitter(desk=desk)
    outcomes = await asyncio.gather(*(committer.submit(submission(b, f"k{i}")) for i, b in enumerate(bodies)),
                                    return_exceptions=True)

    assert sizes[0] == 9 and len(sizes) > 1
    assert isinstance(outcomes[4], RuntimeError) and "this one intake breaks" in str(outcomes[4])
    assert all(o.status_code == 202 for i, o in enumerate(outcomes) if i != 4)
    assert await count(desk.sessions, IntakeRecord) == 8 and await count(desk.sessions, IdempotencyRecord) == 8
    alone = await submit_one(desk, submission(bodies[0], "k0"))
    assert alone.body == outcomes[0].body
