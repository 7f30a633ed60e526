"""Raw Kafka access for tests: put bytes on a topic, read what a topic holds — as the set-up's
login, the one that may touch every topic (the services under test use their own)."""

import asyncio
import json

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.kafka.connection import client_options
from tests.support.infrastructure import cluster


def _harness(bootstrap: str) -> dict:
    options = client_options(cluster().harness())
    options["bootstrap_servers"] = bootstrap
    return options


async def produce(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(**_harness(bootstrap), enable_idempotence=True)
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, *, expect: int, timeout: float = 30.0) -> list:
    """Read from the beginning until `expect` records arrived or `timeout` passed."""
    consumer = AIOKafkaConsumer(
        topic, **_harness(bootstrap), auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    records = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < expect and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for partition_records in batch.values():
                records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


async def read_to_end(bootstrap: str, topic: str, *, timeout: float = 30.0) -> list:
    """Every record the topic holds now: read up to the end offsets taken at the start. For a count
    that may be larger than expected (replays), where `read_topic` would wait out its timeout."""
    consumer = AIOKafkaConsumer(**_harness(bootstrap), enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        async with asyncio.timeout(timeout):
            while not (partitions := consumer.partitions_for_topic(topic)):
                await consumer._client.force_metadata_update()  # noqa: SLF001 - aiokafka has no public wait
            assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(assigned)
            await consumer.seek_to_beginning(*assigned)
            ends = await consumer.end_offsets(assigned)
            records = []
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                for partition_records in (await consumer.getmany(timeout_ms=500)).values():
                    records.extend(partition_records)
            return records
    finally:
        await consumer.stop()


def headers_of(record) -> dict[str, str]:  # noqa: ANN001
    return {key: value.decode() for key, value in (record.headers or ())}


def json_of(record) -> dict:  # noqa: ANN001
    return json.loads(record.value)


async def produce_again(bootstrap: str, topic: str, records: list) -> None:
    """The same records once more, key, value and headers as they were: a redelivery."""
    producer = AIOKafkaProducer(**_harness(bootstrap), enable_idempotence=True)
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(topic, record.value, key=record.key, headers=list(record.headers or ()))
    finally:
        await producer.stop()
