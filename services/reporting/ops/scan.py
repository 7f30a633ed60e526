"""One look at the broker: lag of every consumer group on every partition, end offsets,
dead letters waiting, and how long the oldest referral has waited for each agency."""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka import TopicPartition

from reporting.ops.broker_reader import BrokerReader
from reporting.ops.groups import agency_group, known_groups
from shared.agencies import AGENCIES
from shared.settings import KafkaSettings
from shared.topics import dead_letter_topic


@dataclass(frozen=True, slots=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    taken_at: datetime
    lags: tuple[PartitionLag, ...] = ()
    # Event topic -> sum of its partitions' end offsets: every message ever written to it.
    end_offsets: Mapping[str, int] = field(default_factory=dict)
    # Event topic -> dead letters on <topic>.dlq not yet re-driven.
    dead_letters: Mapping[str, int] = field(default_factory=dict)
    # Agency -> seconds the oldest referral its group has not consumed has waited (0: none).
    oldest_waiting_seconds: Mapping[str, float] = field(default_factory=dict)
    # Agency -> referrals announced overdue and not yet in a final status.
    overdue: Mapping[str, int] = field(default_factory=dict)

    def lag_of(self, *, group: str, topic: str | None = None) -> int:
        return sum(p.lag for p in self.lags if p.group == group and (topic is None or p.topic == topic))

    def consumed_by(self, *, group: str) -> int:
        """Messages the group is past (end minus lag): its throughput's running total."""
        return sum(p.end - p.lag for p in self.lags if p.group == group)


async def take_snapshot(
    *,
    reader: BrokerReader,
    kafka: KafkaSettings,
    redriven: Mapping[str, int],
    overdue: Mapping[str, int],
    now: datetime | None = None,
) -> QueueSnapshot:
    """`redriven`: dlq topic -> dead letters already re-driven (recorded by reporting)."""
    groups = dict(known_groups(kafka=kafka))
    discovered = [g for g in await reader.groups(prefix=kafka.group_prefix) if g not in groups]
    committed_by_group: dict[str, dict[TopicPartition, int]] = {}
    for group, committed in zip(discovered, await asyncio.gather(*(reader.committed(group=g) for g in discovered))):
        committed_by_group[group] = committed
        groups[group] = tuple(sorted({tp.topic for tp in committed}))

    event_topics = kafka.topics.all_event_topics()
    wanted = {topic for read in groups.values() for topic in read} | set(event_topics)
    wanted |= {dead_letter_topic(topic) for topic in event_topics}
    partitions = await reader.partitions(topics=sorted(wanted))
    every = [tp for tps in partitions.values() for tp in tps]
    ends, starts = await asyncio.gather(reader.end_offsets(partitions=every), reader.start_offsets(partitions=every))

    known = [g for g in groups if g not in committed_by_group]
    answers = await asyncio.gather(*(
        reader.committed(group=g, partitions=[tp for t in groups[g] for tp in partitions.get(t, [])]) for g in known
    ))
    committed_by_group.update(zip(known, answers))

    lags: list[PartitionLag] = []
    for group, read in sorted(groups.items()):
        committed = committed_by_group.get(group, {})
        for tp in (tp for topic in read for tp in partitions.get(topic, [])):
            position = committed.get(tp)
            # Never committed, or behind retention: the consumer starts at the earliest record.
            start_at = max(position, starts[tp]) if position is not None else starts[tp]
            lags.append(PartitionLag(group=group, topic=tp.topic, partition=tp.partition, committed=position,
                                     end=ends[tp], lag=max(0, ends[tp] - start_at)))

    taken_at = now or datetime.now(UTC)
    return QueueSnapshot(
        taken_at=taken_at,
        lags=tuple(lags),
        end_offsets={t: sum(ends[tp] for tp in partitions.get(t, [])) for t in event_topics},
        dead_letters=_dead_letters(event_topics=event_topics, partitions=partitions, starts=starts, ends=ends,
                                   redriven=redriven),
        oldest_waiting_seconds=await _oldest_waiting(reader=reader, kafka=kafka, lags=lags, starts=starts,
                                                     now=taken_at),
        overdue={agency: overdue.get(agency, 0) for agency in AGENCIES},
    )


def _dead_letters(
    *,
    event_topics: list[str],
    partitions: Mapping[str, list[TopicPartition]],
    starts: Mapping[TopicPartition, int],
    ends: Mapping[TopicPartition, int],
    redriven: Mapping[str, int],
) -> dict[str, int]:
    depth = {}
    for topic in event_topics:
        dlq = dead_letter_topic(topic)
        held = sum(ends[tp] - starts[tp] for tp in partitions.get(dlq, []))
        depth[topic] = max(0, held - redriven.get(dlq, 0))
    return depth


async def _oldest_waiting(
    *,
    reader: BrokerReader,
    kafka: KafkaSettings,
    lags: list[PartitionLag],
    starts: Mapping[TopicPartition, int],
    now: datetime,
) -> dict[str, float]:
    """The record at a lagging partition's committed offset is the oldest one its group has not
    taken: one fetch per lagging partition, nothing read when the agency is keeping up."""
    groups = {agency_group(kafka=kafka, agency=agency): agency for agency in AGENCIES}
    positions: dict[TopicPartition, int] = {}
    owner: dict[TopicPartition, str] = {}
    for p in lags:
        if p.group in groups and p.lag > 0:
            tp = TopicPartition(p.topic, p.partition)
            positions[tp] = max(p.committed, starts[tp]) if p.committed is not None else starts[tp]
            owner[tp] = groups[p.group]
    oldest = {agency: 0.0 for agency in AGENCIES}
    for tp, records in (await reader.read(positions=positions)).items():
        if records:
            age = max(0.0, now.timestamp() - records[0].timestamp / 1000)
            oldest[owner[tp]] = max(oldest[owner[tp]], round(age, 1))
    return oldest
