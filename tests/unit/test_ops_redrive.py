"""A re-drive goes out through the ops view's own producer (the songtor-ops principal), never
reporting's broker: the dead letter's key and bytes back to the topic it came from, with the
redrive.* headers, recorded once; a send that fails records nothing, so it can be tried again.
No broker: the reader and the producer are fakes, the database a SQLite file."""

import asyncio
from datetime import UTC, datetime

import pytest
from aiokafka import ConsumerRecord
from aiokafka.structs import RecordMetadata, TopicPartition

from reporting.ops import store
from reporting.ops.dead_letters import DeadLetters, RedriveRefused
from reporting.ops.models import OPS_TABLES
from reporting.ops.redrive_producer import RedriveProducer
from shared.db import create_tables, make_engine, session_factory
from shared.kafka import DeadLetterHeaders
from shared.settings import KafkaSettings

KAFKA = KafkaSettings(topic_prefix="p.", group_prefix="g.")
SKILLS = KAFKA.topics.referral_assigned("skills")
DLQ = SKILLS + ".dlq"
PAYLOAD = b'{"event_id": "e-1"}'


def dead_letter(*, offset: int, original_topic: str = SKILLS) -> ConsumerRecord:
    return ConsumerRecord(
        topic=DLQ, partition=1, offset=offset, timestamp=0, timestamp_type=0, key=b"referral-1", value=PAYLOAD,
        checksum=None, serialized_key_size=10, serialized_value_size=len(PAYLOAD),
        headers=[(DeadLetterHeaders.ORIGINAL_TOPIC, original_topic.encode())],
    )


class FakeReader:
    def __init__(self, records: list[ConsumerRecord]) -> None:
        self.records = {(r.topic, r.partition, r.offset): r for r in records}

    async def read(self, *, positions, limits=None, timeout=5.0):
        return {tp: [r] if (r := self.records.get((tp.topic, tp.partition, offset))) else []
                for tp, offset in positions.items()}


class FakeProducer:
    def __init__(self, *, fail: bool = False) -> None:
        self.sent, self.fail = [], fail

    async def send(self, *, topic, value, key, headers):
        if self.fail:
            raise ConnectionError("broker away")
        self.sent.append((topic, value, key, dict(headers)))
        return RecordMetadata(topic, 2, TopicPartition(topic, 2), 40 + len(self.sent), 0, 0, 0)


@pytest.fixture
async def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/reporting.db")
    await create_tables(engine, OPS_TABLES)
    yield session_factory(engine)
    await engine.dispose()


async def test_a_dead_letter_goes_back_through_the_ops_producer_with_its_key_bytes_and_headers(sessions):
    producer = FakeProducer()
    dead = DeadLetters(reader=FakeReader([dead_letter(offset=7)]), producer=producer, kafka=KAFKA, sessions=sessions)
    [sent] = await dead.redrive(positions=[(DLQ, 1, 7)], actor="ops-user", reason="grant given back")
    [(topic, value, key, headers)] = producer.sent
    assert (topic, value, key) == (SKILLS, PAYLOAD, b"referral-1")
    assert headers.keys() == {"redrive.from", "redrive.actor", "redrive.reason", "redrive.at"}
    assert (headers["redrive.from"], headers["redrive.actor"], headers["redrive.reason"]) == (
        f"{DLQ}/1/7", "ops-user", "grant given back")
    assert datetime.fromisoformat(headers["redrive.at"]).tzinfo == UTC
    assert (sent["target_topic"], sent["target_partition"], sent["target_offset"]) == (SKILLS, 2, 41)
    with pytest.raises(RedriveRefused) as again:
        await dead.redrive(positions=[(DLQ, 1, 7)], actor="ops-user", reason="once more")
    assert again.value.status == 409 and len(producer.sent) == 1


async def test_a_send_that_fails_records_no_redrive(sessions):
    dead = DeadLetters(reader=FakeReader([dead_letter(offset=8)]), producer=FakeProducer(fail=True), kafka=KAFKA,
                       sessions=sessions)
    with pytest.raises(ConnectionError):
        await dead.redrive(positions=[(DLQ, 1, 8)], actor="ops-user", reason="try")
    async with sessions() as session:
        assert await store.redrives_at(session, positions=[(DLQ, 1, 8)]) == {}


async def test_a_dead_letter_naming_another_topic_is_not_sent_anywhere(sessions):
    producer = FakeProducer()
    forged = dead_letter(offset=9, original_topic=KAFKA.topics.referral_assigned("welfare"))
    dead = DeadLetters(reader=FakeReader([forged]), producer=producer, kafka=KAFKA, sessions=sessions)
    with pytest.raises(RedriveRefused) as refused:
        await dead.redrive(positions=[(DLQ, 1, 9)], actor="ops-user", reason="try")
    assert refused.value.status == 422 and producer.sent == []


async def test_the_producer_is_closed_with_the_service_and_refuses_later_sends():
    # Nothing connects: the producer starts at the first re-drive, and there was none.
    producer = RedriveProducer(kafka=KafkaSettings(bootstrap_servers="127.0.0.1:1", security_protocol="PLAINTEXT"))
    held = asyncio.create_task(producer.run())
    await asyncio.sleep(0)
    held.cancel()
    await asyncio.gather(held, return_exceptions=True)
    with pytest.raises(RuntimeError, match="stopping"):
        await producer.send(topic=SKILLS, value=b"", key=None, headers={})
