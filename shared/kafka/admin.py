"""Topic administration: services create the topics they use, so a fresh broker just works."""

import asyncio
import logging
import time

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

logger = logging.getLogger("songtor.kafka.admin")


async def ensure_topics(*, bootstrap_servers: str, topics: list[str], partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="songtor-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in topics if name not in existing]
        if not missing:
            # Another service may have created them a moment ago: they can still lack a leader.
            await _wait_until_led(admin, topics=topics)
            return
        try:
            await admin.create_topics(
                [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in missing]
            )
        except TopicAlreadyExistsError:
            pass  # another service created them at the same moment
        logger.info("created topics: %s", ", ".join(missing))
        await _wait_until_led(admin, topics=missing)
    finally:
        await admin.close()


async def _wait_until_led(admin: AIOKafkaAdminClient, *, topics: list[str], timeout: float = 60.0) -> None:
    """A topic just created has no partition leader for a moment (longer on a loaded machine);
    a consumer started then fails with UnknownTopicOrPartition, so wait until every partition is led."""
    deadline = time.monotonic() + timeout
    while True:
        described = await admin.describe_topics(topics)
        pending = [
            t["topic"] for t in described
            if t.get("error_code") or not t.get("partitions") or any(p.get("leader", -1) < 0 for p in t["partitions"])
        ]
        if not pending or time.monotonic() > deadline:
            if pending:
                logger.warning("topics still without a leader after %.0f s: %s", timeout, ", ".join(pending))
            return
        await asyncio.sleep(0.2)

