"""Topic administration: services create the topics they use, so a fresh broker just works."""

import logging

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
            return
        try:
            await admin.create_topics(
                [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in missing]
            )
        except TopicAlreadyExistsError:
            pass  # another service created them at the same moment
        logger.info("created topics: %s", ", ".join(missing))
    finally:
        await admin.close()

