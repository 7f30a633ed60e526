"""One look at the broker: lag of every consumer group on every partition, end offsets,
dead letters waiting, and how long the oldest referral has waited for each agency.

Only the asking is here; what the answers mean is computed in ops/domain.py."""

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime

from aiokafka import TopicPartition

from reporting.ops import domain, head_search
from reporting.ops.broker_reader import BrokerReader
from reporting.ops.domain import PartitionLag, QueueSnapshot
from reporting.ops.groups import agency_group, known_groups
from shared.agencies import AGENCIES
from shared.settings import KafkaSettings
from shared.topics import dead_letter_topic

__all__ = ["PartitionLag", "QueueSnapshot", "take_snapshot"]


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
    dead_letter_topics = {topic: dead_letter_topic(topic) for topic in event_topics}
    wanted = {topic for read in groups.values() for topic in read}
    wanted |= set(event_topics) | set(dead_letter_topics.values())
    partitions = await reader.partitions(topics=sorted(wanted))
    every = [tp for tps in partitions.values() for tp in tps]
    ends, starts = await asyncio.gather(reader.end_offsets(partitions=every), reader.start_offsets(partitions=every))

    known = [g for g in groups if g not in committed_by_group]
    answers = await asyncio.gather(*(
        reader.committed(group=g, partitions=[tp for t in groups[g] for tp in partitions.get(t, [])]) for g in known
    ))
    committed_by_group.update(zip(known, answers))

    lags = domain.partition_lags(reads=groups, partitions=partitions, committed=committed_by_group,
                                 starts=starts, ends=ends)
    taken_at = now or datetime.now(UTC)
    return QueueSnapshot(
        taken_at=taken_at,
        lags=tuple(lags),
        end_offsets={t: sum(ends[tp] for tp in partitions.get(t, [])) for t in event_topics},
        dead_letters=domain.dead_letter_depth(dead_letter_topics=dead_letter_topics, partitions=partitions,
                                              starts=starts, ends=ends, redriven=redriven),
        oldest_waiting_seconds=await _oldest_waiting(reader=reader, kafka=kafka, lags=lags, starts=starts,
                                                     now=taken_at),
        overdue={agency: overdue.get(agency, 0) for agency in AGENCIES},
    )


async def _oldest_waiting(
    *,
    reader: BrokerReader,
    kafka: KafkaSettings,
    lags: list[PartitionLag],
    starts: Mapping[TopicPartition, int],
    now: datetime,
) -> dict[str, float]:
    """The oldest record a lagging agency group has not taken is the one at its committed offset;
    when it was written is found by timestamp (ops/head_search.py), never by reading it: the ops
    principal may not read a referral. One ListOffsets request per round for every lagging
    partition, nothing asked when the agencies keep up."""
    agency_of_group = {agency_group(kafka=kafka, agency=agency): agency for agency in AGENCIES}
    heads = domain.waiting_heads(lags=lags, agency_of_group=agency_of_group, starts=starts)
    now_ms = int(now.timestamp() * 1000)
    searches = head_search.begin(heads={tp: offset for tp, (offset, _) in heads.items()}, now_ms=now_ms)
    for _round in range(head_search.rounds_needed(now_ms=now_ms)):
        asked = head_search.probes(searches)
        if not asked:
            break
        answers = await reader.offsets_for_times(timestamps={TopicPartition(*tp): at for tp, at in asked.items()})
        searches = head_search.narrow(searches, asked=asked, answers=answers)
    return domain.oldest_waiting(
        agencies=AGENCIES,
        agency_of={tp: agency for tp, (_, agency) in heads.items()},
        head_timestamps_ms=head_search.head_timestamps(searches),
        now=now,
    )
