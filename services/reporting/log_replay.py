"""Reading topics from their beginning up to where they ended when asked, without a consumer
group (nothing committed, the live groups undisturbed): what the rebuild and the national
feed's backfill replay."""

from collections.abc import Awaitable, Callable, Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

BATCH_RECORDS = 500  # records applied per transaction, as a live consumer's batch


async def partitions_of(*, login: dict, topics: Iterable[str]) -> list[TopicPartition]:
    """Partitions of the topics that exist (a login sees only the topics it may describe)."""
    admin = AIOKafkaAdminClient(**login, client_id="songtor-reporting-rebuild")
    await admin.start()
    try:
        described = {d["topic"]: d for d in await admin.describe_topics() if not d["error_code"]}
    finally:
        await admin.close()
    return [TopicPartition(topic, n) for topic in topics if topic in described
            for n in sorted(p["partition"] for p in described[topic]["partitions"])]


async def replay_topic(consumer: AIOKafkaConsumer, *, partitions: list[TopicPartition], ends: dict,
                        apply: Callable[[list], Awaitable[None]]) -> None:
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    pending = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=1000, max_records=BATCH_RECORDS)
        records = [r for tp, rs in batch.items() for r in rs if r.offset < ends[tp]]
        if records:
            await apply(records)
        for tp in list(pending):
            # Position, not the last offset seen: transaction markers and compaction leave gaps.
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)
                consumer.pause(tp)
