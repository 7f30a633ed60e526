"""The baseline: a bare aiokafka relay of N hops on the bench's broker, what Python and this broker
can do with nothing of Songtor in the way. A producer (acks=all, idempotent) writes M messages to
hop0; relay i (its own process, as each service is) reads hop_i with getmany, writes each record
to hop_{i+1} (acks=all, idempotent), waits for the acks and commits once per batch; the parent
counts hop_N. Messages/s = M / (first send to the last record read from hop_N).

The parent runs `measure(...)`; each relay is `python bench/pipeline_relay.py --source ... --target ...`
with the login in KAFKA_* variables (the set-up's super user: the bench topics are its own).
"""

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "services"), str(REPO / "bench")]

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402

MAX_RECORDS = 1000


async def _assigned_consumer(kafka, topic: str, *, partitions: int,  # noqa: ANN001
                             group: str | None) -> AIOKafkaConsumer:
    from shared.kafka.connection import client_options

    # Assigned, not subscribed: no group join (seconds of rebalance) inside the timed window; the
    # group still holds the committed offsets.
    consumer = AIOKafkaConsumer(group_id=group, enable_auto_commit=False, auto_offset_reset="earliest",
                                **client_options(kafka))
    await consumer.start()
    consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
    return consumer


def _producer(kafka) -> AIOKafkaProducer:  # noqa: ANN001
    from shared.kafka.connection import client_options

    return AIOKafkaProducer(acks="all", enable_idempotence=True, **client_options(kafka))


async def relay(*, source: str, target: str, group: str, count: int, partitions: int) -> None:
    from shared.settings import KafkaSettings

    kafka = KafkaSettings()
    consumer = await _assigned_consumer(kafka, source, partitions=partitions, group=group)
    producer = _producer(kafka)
    await producer.start()
    try:
        print("ready", flush=True)
        moved, parent = 0, os.getppid()
        while moved < count and os.getppid() == parent:  # an orphan (the bench was killed) stops
            batch = await consumer.getmany(timeout_ms=500, max_records=MAX_RECORDS)
            sent = [await producer.send(target, record.value, key=record.key)
                    for records in batch.values() for record in records]
            if sent:
                await asyncio.gather(*sent)  # every record of the batch acknowledged by the broker ...
                await consumer.commit()  # ... before the batch's offsets are committed
                moved += len(sent)
    finally:
        await producer.stop()
        await consumer.stop()


async def measure(infra, *, messages: int, hops: int, payload_bytes: int, partitions: int) -> dict:  # noqa: ANN001
    """One timed run on fresh topics, taken away afterwards."""
    from confluent_kafka.admin import NewTopic

    from shared.kafka.provision import _until_led, _wait, admin_client
    from shared.kafka.topology import SETUP_PRINCIPAL

    kafka = infra.login(SETUP_PRINCIPAL)
    run = uuid.uuid4().hex[:8]
    topics = [f"bench.relay.{run}.hop{i}" for i in range(hops + 1)]
    admin = admin_client(kafka)
    _wait(admin.create_topics([NewTopic(name, partitions, 1) for name in topics]))
    _until_led(admin, topics)
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers, "KAFKA_SSL_CAFILE": str(kafka.ssl_cafile),
           "KAFKA_USERNAME": kafka.username, "KAFKA_PASSWORD_FILE": str(kafka.password_file)}
    children = []
    try:
        for i in range(hops):
            children.append(await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--source", topics[i], "--target", topics[i + 1],
                "--group", f"bench.relay.{run}.{i}", "--count", str(messages), "--partitions", str(partitions),
                env=env, stdout=asyncio.subprocess.PIPE))
        for child in children:
            line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
            if line.strip() != b"ready":
                raise RuntimeError(f"a relay did not start: {line!r}")
        counter = await _assigned_consumer(kafka, topics[-1], partitions=partitions, group=None)
        producer = _producer(kafka)
        await producer.start()
        try:
            started = time.monotonic()
            counting = asyncio.create_task(_count(counter, messages))
            payload = os.urandom(payload_bytes // 2).hex().encode()[:payload_bytes]
            acks = [await producer.send(topics[0], payload, key=str(i).encode()) for i in range(messages)]
            await asyncio.gather(*acks)
            produced = time.monotonic() - started
            last = await asyncio.wait_for(counting, timeout=max(120.0, messages / 200))
        finally:
            await producer.stop()
            await counter.stop()
        for child in children:
            await asyncio.wait_for(child.wait(), timeout=30)
        seconds = last - started
        return {"messages": messages, "seconds": seconds, "messages_per_s": messages / seconds,
                "produce_seconds": produced, "load_after": os.getloadavg()[0]}
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()
        _wait(admin.delete_topics(topics, operation_timeout=30))


async def _count(consumer: AIOKafkaConsumer, expected: int) -> float:
    seen = 0
    while seen < expected:
        batch = await consumer.getmany(timeout_ms=500, max_records=MAX_RECORDS)
        seen += sum(len(records) for records in batch.values())
    return time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description="one relay hop (started by measure())")
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--partitions", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(relay(source=args.source, target=args.target, group=args.group, count=args.count,
                      partitions=args.partitions))


if __name__ == "__main__":
    main()
