"""Read-only questions to the broker: partitions, start/end offsets, offsets by timestamp, a
group's committed offsets, and a few records at given positions. Never joins a consumer group,
never commits.

It logs in as the ops view's principal (songtor-ops): Describe on every topic and group, Read on
the dead-letter topics only. So `read` is for dead letters; of the payload topics it asks only
what Describe answers (offsets, offsets by timestamp)."""

import asyncio
from collections.abc import Iterable, Mapping

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.kafka.connection import client_options
from shared.settings import KafkaSettings


class BrokerReader:
    def __init__(self, *, kafka: KafkaSettings, client_id: str = "songtor-reporting-ops") -> None:
        """`kafka`: the ops view's settings (ReportingSettings.ops_kafka())."""
        self._kafka, self._client_id = kafka, client_id
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._offsets is None:
            # Options made at each connection: a rotated password file is read by the next one.
            admin = AIOKafkaAdminClient(**client_options(self._kafka), client_id=self._client_id)
            offsets = AIOKafkaConsumer(**client_options(self._kafka), client_id=self._client_id,
                                       group_id=None, enable_auto_commit=False)
            try:
                await admin.start()
                await offsets.start()
            except Exception:
                await self._close(admin, offsets)
                raise
            self._admin, self._offsets = admin, offsets
        return self._admin, self._offsets

    @staticmethod
    async def _close(admin: AIOKafkaAdminClient | None, offsets: AIOKafkaConsumer | None) -> None:
        for closing in (admin.close() if admin else None, offsets.stop() if offsets else None):
            if closing is not None:
                try:
                    await closing
                except Exception:  # noqa: BLE001 - closing a broken client must not hide the cause
                    pass

    async def reset(self) -> None:
        """Drop the clients after a failure; the next call connects afresh."""
        admin, offsets, self._admin, self._offsets = self._admin, self._offsets, None, None
        await self._close(admin, offsets)

    close = reset

    async def partitions(self, *, topics: Iterable[str]) -> dict[str, list[TopicPartition]]:
        """Partitions of each topic that exists. Asks for every topic's metadata: naming the
        topics would let a broker with auto-creation on create the ones that are missing."""
        admin, _consumer = await self._clients()
        wanted = set(topics)
        found: dict[str, list[TopicPartition]] = {}
        for described in await admin.describe_topics():
            if described["topic"] in wanted and not described["error_code"] and described["partitions"]:
                numbers = sorted(p["partition"] for p in described["partitions"])
                found[described["topic"]] = [TopicPartition(described["topic"], n) for n in numbers]
        return found

    async def end_offsets(self, *, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        _admin, consumer = await self._clients()
        return await consumer.end_offsets(partitions) if partitions else {}

    async def start_offsets(self, *, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        _admin, consumer = await self._clients()
        return await consumer.beginning_offsets(partitions) if partitions else {}

    async def offsets_for_times(
        self, *, timestamps: Mapping[TopicPartition, int]
    ) -> dict[TopicPartition, tuple[int, int] | None]:
        """Partition -> (the first offset whose timestamp is >= the one given (ms), that record's
        timestamp), None when no record is that recent. ListOffsets: Describe is enough, nothing is
        read; aiokafka asks each partition leader once for all its partitions."""
        if not timestamps:
            return {}
        _admin, consumer = await self._clients()
        # A copy: aiokafka rewrites the mapping it is given.
        answer = await consumer.offsets_for_times({tp: int(ms) for tp, ms in timestamps.items()})
        return {tp: None if found is None else (found.offset, found.timestamp) for tp, found in answer.items()}

    async def groups(self, *, prefix: str) -> list[str]:
        admin, _consumer = await self._clients()
        return sorted(group for group, *_ in await admin.list_consumer_groups() if group.startswith(prefix))

    async def committed(
        self, *, group: str, partitions: list[TopicPartition] | None = None
    ) -> dict[TopicPartition, int]:
        """The group's committed offsets; partitions it never committed are left out."""
        admin, _consumer = await self._clients()
        answer = await admin.list_consumer_group_offsets(group, partitions=partitions or None)
        return {tp: meta.offset for tp, meta in answer.items() if meta.offset >= 0}

    async def read(
        self,
        *,
        positions: Mapping[TopicPartition, int],
        limits: Mapping[TopicPartition, int] | None = None,
        timeout: float = 5.0,
    ) -> dict[TopicPartition, list[ConsumerRecord]]:
        """Records from each position on: `limits[tp]` of them (default one). A consumer of its
        own, so that concurrent reads (operators' pages, a re-drive) never move each other's."""
        if not positions:
            return {}
        consumer = AIOKafkaConsumer(**client_options(self._kafka), client_id=self._client_id, group_id=None,
                                    enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        wants = {tp: (limits or {}).get(tp, 1) for tp in positions}
        found: dict[TopicPartition, list[ConsumerRecord]] = {tp: [] for tp in positions}
        try:
            consumer.assign(list(positions))
            for tp, offset in positions.items():
                consumer.seek(tp, offset)
            deadline = asyncio.get_running_loop().time() + timeout
            while asyncio.get_running_loop().time() < deadline:
                waiting = [tp for tp, records in found.items() if len(records) < wants[tp]]
                if not waiting:
                    break
                batch = await consumer.getmany(*waiting, timeout_ms=200)
                for tp, records in batch.items():
                    wanted = [r for r in records if r.offset >= positions[tp]]
                    found[tp].extend(wanted[: wants[tp] - len(found[tp])])
        finally:
            await consumer.stop()
        return found
