"""A batch with poison in the middle of both partitions: the agency adapter reads the whole
backlog of its topic in one batch, applies every good referral once, dead-letters each poison
record alone with its position and reason, and commits both partitions to their ends."""

import asyncio

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from shared.kafka import DeadLetterHeaders
from shared.topics import Topics
from tests.support.examples import assigned_events
from tests.support.kafka_io import _harness, headers_of, json_of, read_topic
from tests.support.polling import eventually_async

pytestmark = pytest.mark.faults

WELFARE_NEED = "wage_rights"  # shared/catalog/needs.toml: a need of the welfare agency
NOT_JSON = b"{this is not json"


async def put_on_partitions(bootstrap: str, topic: str, layout: dict[int, list[tuple[bytes, bytes]]]) -> None:
    producer = AIOKafkaProducer(**_harness(bootstrap), enable_idempotence=True)
    await producer.start()
    try:
        for partition, records in layout.items():
            for key, value in records:
                await producer.send_and_wait(topic, value, key=key, partition=partition)
    finally:
        await producer.stop()


async def committed(bootstrap: str, group: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(**_harness(bootstrap))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items()}


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
async def test_poison_in_the_middle_of_a_batch_on_two_partitions(start_service, kafka_env, db_backend):
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    bootstrap = kafka_env["KAFKA_BOOTSTRAP_SERVERS"]
    topic = topics.referral_assigned("welfare")
    good = assigned_events(WELFARE_NEED, 20)
    # Valid by the contract, but for another agency: the effect refuses it as InvalidMessage, which
    # fails the batch's transaction; only splitting the batch can tell it from the good records around it.
    misrouted = assigned_events(WELFARE_NEED, 1)[0].model_copy(update={"agency": "employment"})

    def record(event) -> tuple[bytes, bytes]:  # noqa: ANN001
        return event.referral_id.encode(), event.model_dump_json().encode()

    # Written before the adapter starts, so its first poll takes both partitions' backlog at once.
    await put_on_partitions(bootstrap, topic, {
        0: [*map(record, good[:5]), record(misrouted), *map(record, good[5:10])],
        1: [*map(record, good[10:15]), (b"poison", NOT_JSON), *map(record, good[15:])],
    })
    start_service("agency-adapters")

    dead = await read_topic(bootstrap, f"{topic}.dlq", expect=2)
    by_position = {(headers_of(r)[DeadLetterHeaders.ORIGINAL_PARTITION], headers_of(r)[DeadLetterHeaders.ORIGINAL_OFFSET]): r
                   for r in dead}
    assert sorted(by_position) == [("0", "5"), ("1", "5")]
    assert headers_of(by_position[("0", "5")])[DeadLetterHeaders.EXCEPTION_CLASS] == "InvalidMessage"
    # Both can never succeed: dead-lettered on their first failure, not after the retry bound.
    assert {headers_of(r)[DeadLetterHeaders.ATTEMPTS] for r in dead} == {"1"}
    assert "employment" in headers_of(by_position[("0", "5")])[DeadLetterHeaders.EXCEPTION_MESSAGE]
    assert headers_of(by_position[("1", "5")])[DeadLetterHeaders.EXCEPTION_CLASS] == "ValidationError"
    assert by_position[("1", "5")].value == NOT_JSON
    assert all(headers_of(r)[DeadLetterHeaders.CONSUMER_GROUP] == f"{kafka_env['KAFKA_GROUP_PREFIX']}agency.welfare"
               for r in dead)

    # Every good referral received once: one receipt each, none for the poison.
    await read_topic(bootstrap, topics.referral_updated, expect=20)
    await asyncio.sleep(2)  # a duplicate would come right behind
    receipts = await read_topic(bootstrap, topics.referral_updated, expect=21, timeout=3)
    assert sorted(json_of(r)["referral_id"] for r in receipts) == sorted(e.referral_id for e in good)
    assert len(await read_topic(bootstrap, f"{topic}.dlq", expect=3, timeout=3)) == 2

    # No offset skipped, none left behind: both partitions committed to their ends.
    group = f"{kafka_env['KAFKA_GROUP_PREFIX']}agency.welfare"

    async def at_the_end() -> bool:
        positions = await committed(bootstrap, group)
        return {p: positions.get(p) for p in (0, 1)} == {0: 11, 1: 11}

    await eventually_async(at_the_end, timeout=30)
