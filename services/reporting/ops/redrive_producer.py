"""The ops view's own producer, for re-drives. It logs in as songtor-ops, which may write the event
topics (a dead letter goes back to where it came from); reporting's principal, whose FastStream
broker writes only what reporting publishes, may not.

Started at the first re-drive, so a broker that is away when the service starts costs the ops
view nothing until someone re-drives; stopped with the service (`run` is a background task that
only waits to be cancelled, then closes it)."""

import asyncio
import logging
from collections.abc import Mapping

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from shared.kafka.connection import client_options
from shared.settings import KafkaSettings

logger = logging.getLogger("songtor.reporting.ops.dlq")


class RedriveProducer:
    def __init__(self, *, kafka: KafkaSettings, client_id: str = "songtor-reporting-ops") -> None:
        """`kafka`: the ops view's settings (ReportingSettings.ops_kafka())."""
        self._kafka, self._client_id = kafka, client_id
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()
        self._closed = False

    async def _started(self) -> AIOKafkaProducer:
        async with self._starting:
            if self._closed:
                raise RuntimeError("the service is stopping: no more re-drives")
            if self._producer is None:
                # Idempotent, acks from every in-sync replica (docs/architecture: producers).
                producer = AIOKafkaProducer(**client_options(self._kafka), client_id=self._client_id,
                                            enable_idempotence=True, acks="all")
                try:
                    await producer.start()
                except BaseException:
                    await _stop_quietly(producer)
                    raise
                self._producer = producer
            return self._producer

    async def send(self, *, topic: str, value: bytes, key: bytes | None, headers: Mapping[str, str]) -> RecordMetadata:
        """Written and acknowledged by every in-sync replica when this returns."""
        producer = await self._started()
        try:
            return await producer.send_and_wait(topic, value=value, key=key,
                                                headers=[(name, text.encode()) for name, text in headers.items()])
        except Exception:
            # The next re-drive connects afresh (and reads the password file again).
            await self._drop(producer)
            raise

    async def _drop(self, producer: AIOKafkaProducer) -> None:
        async with self._starting:
            if self._producer is producer:
                self._producer = None
        await _stop_quietly(producer)

    async def close(self) -> None:
        async with self._starting:
            producer, self._producer, self._closed = self._producer, None, True
        if producer is not None:
            await _stop_quietly(producer)

    async def run(self) -> None:
        """Background task of the service: holds until the service stops, then closes the producer."""
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()


async def _stop_quietly(producer: AIOKafkaProducer) -> None:
    try:
        await producer.stop()
    except Exception:  # noqa: BLE001 - closing a broken producer must not hide what broke it
        logger.debug("re-drive producer did not stop cleanly", exc_info=True)
