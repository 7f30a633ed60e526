"""The batch path sheets use: dedupe inside one batch, and a row of an org unit the uploader
does not cover refused while the others are taken, on SQLite and PostgreSQL; the relay, woken
after the commit, publishes what the batch stored."""

import asyncio
import contextlib

import pytest
from prometheus_client import CollectorRegistry
from sqlmodel import select

from intake.models import TABLES, IntakeRecord
from intake.request import IntakeRequest
from intake.scope import Submitter
from intake.submission import IntakeDesk, Submission, submit_many
from shared.catalog import default_catalog
from shared.db import OutboxRelay, create_tables, make_engine, session_factory
from shared.kafka import build_broker
from shared.kafka.connection import broker_security
from shared.topics import Topics
from tests.support.in_process import kafka_settings
from tests.support.examples import contract_example
from tests.support.polling import eventually_async
from tests.support.sealing import MASTER_KEYS

pytestmark = pytest.mark.integration

CLERK = Submitter("clerk-6406-subject", org_units=frozenset({"6406"}))


async def test_a_person_listed_twice_in_one_batch_is_referred_once(database_url, kafka_env):
    engine = make_engine(database_url("intake"))
    await create_tables(engine, TABLES)
    login = kafka_settings(kafka_env, service="intake")
    broker = build_broker(bootstrap_servers=login.bootstrap_servers, service="test", registry=CollectorRegistry(),
                          security=broker_security(login))
    await broker.start()
    desk = IntakeDesk(
        catalog=default_catalog(), sessions=session_factory(engine), relay=OutboxRelay(engine=engine, broker=broker),
        topics=Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"]), person_ref_key="k", master_keys=MASTER_KEYS,
    )
    second = contract_example()
    second["needs"] = [{"code": "skill_training"}, {"code": "labour_complaint"}]
    elsewhere = contract_example()
    elsewhere["source"]["org_unit"] = "2401"
    # As the service runs it, but with no timer to fall back on: only the wake after the commit
    # makes it publish the batch.
    relay_loop = asyncio.create_task(desk.relay.run(interval=3600))

    async def all_published() -> bool:
        return await desk.relay.pending() == 0

    try:
        answers = await submit_many(desk, [
            Submission(IntakeRequest.model_validate(contract_example()), CLERK),
            Submission(IntakeRequest.model_validate(elsewhere), CLERK),
            Submission(IntakeRequest.model_validate(second), CLERK),
        ])
        await eventually_async(all_published, timeout=60, interval=0.1)
        async with desk.sessions() as session:
            stored = (await session.exec(select(IntakeRecord.org_unit, IntakeRecord.submitted_by))).all()
    finally:
        relay_loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay_loop
        await broker.stop()
        await engine.dispose()

    assert [a.status_code for a in answers] == [202, 403, 202]
    assert answers[1].body["errors"][0]["field"] == "source.org_unit"
    assert sorted(stored) == [("6406", "clerk-6406-subject")] * 2, "the refused one left nothing"
    first_skill = next(r["referral_id"] for r in answers[0].body["referrals"] if r["need_code"] == "skill_training")
    assert answers[2].body["joined_open_referrals"] == [{"need_code": "skill_training", "referral_id": first_skill}]
    assert [r["need_code"] for r in answers[2].body["referrals"]] == ["labour_complaint"]
