"""The batch path sheets use: dedupe inside one batch, on SQLite and PostgreSQL."""

import pytest
from prometheus_client import CollectorRegistry

from intake.models import TABLES
from intake.request import IntakeRequest
from intake.submission import IntakeDesk, Submission, submit_many
from shared.catalog import default_catalog
from shared.db import OutboxRelay, create_tables, make_engine, session_factory
from shared.kafka import build_broker
from shared.topics import Topics
from tests.support.examples import contract_example

pytestmark = pytest.mark.integration


async def test_a_person_listed_twice_in_one_batch_is_referred_once(database_url, kafka_env):
    engine = make_engine(database_url("intake"))
    await create_tables(engine, TABLES)
    broker = build_broker(bootstrap_servers=kafka_env["KAFKA_BOOTSTRAP_SERVERS"], service="test", registry=CollectorRegistry())
    await broker.start()
    desk = IntakeDesk(
        catalog=default_catalog(), sessions=session_factory(engine), relay=OutboxRelay(engine=engine, broker=broker),
        topics=Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"]), person_ref_key="k",
    )
    second = contract_example()
    second["needs"] = [{"code": "skill_training"}, {"code": "labour_complaint"}]
    try:
        answers = await submit_many(
            desk, [Submission(IntakeRequest.model_validate(contract_example())), Submission(IntakeRequest.model_validate(second))]
        )
        assert await desk.relay.pending() == 0
    finally:
        await broker.stop()
        await engine.dispose()

    assert [a.status_code for a in answers] == [202, 202]
    first_skill = next(r["referral_id"] for r in answers[0].body["referrals"] if r["need_code"] == "skill_training")
    assert answers[1].body["joined_open_referrals"] == [{"need_code": "skill_training", "referral_id": first_skill}]
    assert [r["need_code"] for r in answers[1].body["referrals"]] == ["labour_complaint"]
