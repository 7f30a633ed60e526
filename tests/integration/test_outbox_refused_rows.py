"""Outbox rows the broker will not take (a topic that does not exist, one this service may not
write, a message larger than the broker accepts) do not stall the rows behind them: each counts
an attempt and waits a back-off, the later rows of its own (topic, key) wait behind it, and
every other row is published. Real broker, the routing service's own login, both databases."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlmodel import col, select, update

from shared.contracts import EventEnvelope
from shared.db import OutboxRelay, add_to_outbox, create_tables, make_engine, session_factory
from shared.db.outbox import OutboxMessage
from shared.kafka import build_broker
from shared.kafka.connection import broker_security
from shared.topics import Topics
from tests.support.in_process import kafka_settings
from tests.support.kafka_io import json_of, read_to_end

pytestmark = pytest.mark.integration


def envelope(note: str) -> EventEnvelope:
    return EventEnvelope(event_id=uuid.uuid4(), occurred_at=datetime.now(UTC), correlation_id=note, producer="test")


async def test_rows_the_broker_refuses_back_off_and_the_rows_behind_them_are_published(kafka_env, database_url):
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    good, other_good = topics.referral_routed, topics.referral_assigned("employment")
    missing = f"{kafka_env['KAFKA_TOPIC_PREFIX']}no.such.topic"
    not_ours = topics.intake_submitted  # routing reads it and may not write it
    huge = envelope("huge").model_copy(update={"producer": "x" * 2_000_000})  # over the broker's 1 MB
    # (topic, key, event) in the order written; the "good-" ones must be published.
    plan = [
        (good, "a", envelope("good-1")),
        (missing, "b", envelope("refused-missing")),
        (missing, "b", envelope("waits-behind-missing")),
        (good, "b", envelope("good-2")),  # same key, other topic: its own order, not blocked
        (not_ours, "c", envelope("refused-acl")),
        (not_ours, "c", envelope("waits-behind-acl")),
        (good, "d", huge),
        (good, "d", envelope("waits-behind-huge")),
        *[(other_good if n % 2 else good, f"e{n}", envelope(f"good-{n + 3}")) for n in range(10)],
    ]
    must_publish = [event.correlation_id for _, _, event in plan if event.correlation_id.startswith("good")]

    engine = make_engine(database_url("routing"))
    await create_tables(engine, [OutboxMessage.__table__])
    async with session_factory(engine)() as session:
        for topic, key, event in plan:
            add_to_outbox(session, topic=topic, key=key, event=event)
        await session.commit()
    login = kafka_settings(kafka_env, service="routing")
    broker = build_broker(bootstrap_servers=login.bootstrap_servers, service="routing", registry=CollectorRegistry(),
                          security=broker_security(login))
    registry = CollectorRegistry()
    relay = OutboxRelay(engine=engine, broker=broker, registry=registry, enqueue_timeout=3.0)
    await broker.start()
    try:
        assert await relay.flush() == len(must_publish)
        rows = await rows_by_note(engine)
        refused = {note: rows[note] for note in ("refused-missing", "refused-acl", "huge")}
        for note, row in refused.items():
            assert row.published_at is None and row.attempts == 1, note
            assert row.last_error and row.next_attempt_at is not None, note
        assert "Authorization" in refused["refused-acl"].last_error
        assert "TooLarge" in refused["huge"].last_error
        for note in ("waits-behind-missing", "waits-behind-huge"):  # refused as they were handed over
            assert rows[note].published_at is None and rows[note].attempts == 0, f"{note} was tried out of order"
        # Refused only in the broker's answer: its follower had been handed over too, and was refused as well.
        assert rows["waits-behind-acl"].published_at is None
        failures = {(s.labels["topic"], s.labels["exception_class"]): s.value for metric in registry.collect()
                    for s in metric.samples if s.name == "songtor_outbox_publish_failures_total"}
        assert sum(failures.values()) == 4 and {topic for topic, _ in failures} == {missing, not_ours, good}

        # No hot loop: within their back-off the refused rows are not tried again.
        assert await relay.flush() == 0
        assert {note: row.attempts for note, row in (await rows_by_note(engine)).items() if row.attempts} == {
            "refused-missing": 1, "refused-acl": 1, "waits-behind-acl": 1, "huge": 1}

        # Once the back-off has passed they are tried again, alone in their round (the broker
        # answers, so it is still the rows' fault, not an outage), and wait twice as long.
        async with session_factory(engine)() as session:
            await session.exec(update(OutboxMessage).where(col(OutboxMessage.attempts) > 0)
                               .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
            await session.commit()
        assert await relay.flush() == 0
        rows = await rows_by_note(engine)
        for note in refused:
            assert rows[note].attempts == 2 and rows[note].published_at is None, note
        assert await relay.pending() == 6
    finally:
        await broker.stop()
        await engine.dispose()

    for topic in (good, other_good):
        expected = [event.correlation_id for t, _, event in plan if t == topic and event.correlation_id in must_publish]
        # The relay has stopped and acknowledged what it sent: the topic's end is final.
        published = await read_to_end(kafka_env["KAFKA_BOOTSTRAP_SERVERS"], topic)
        assert sorted(json_of(record)["correlation_id"] for record in published) == sorted(expected)


async def rows_by_note(engine) -> dict[str, OutboxMessage]:  # noqa: ANN001
    async with session_factory(engine)() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    return {EventEnvelope.model_validate_json(row.payload).correlation_id: row for row in rows}
