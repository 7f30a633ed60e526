"""Raw Kafka access for tests: put bytes on a topic, read what a topic holds — as the set-up's
login, the one that may touch every topic (the services under test use their own)."""

import asyncio
import json

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

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


def headers_of(record) -> dict[str, str]:  # noqa: ANN001
    return {key: value.decode() for key, value in (record.headers or ())}


def json_of(record) -> dict:  # noqa: ANN001
    return json.loads(record.value)
