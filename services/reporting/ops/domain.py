"""What the broker's offsets mean for operations, pure: lag per group and partition, dead
letters waiting, how long the oldest waiting referral has waited, and rates between scans.

No I/O: scan.py asks the broker and hands the answers here. Partitions are (topic, partition)
pairs; aiokafka's TopicPartition is one, so the broker's answers go in as they come.
"""

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

Partition = tuple[str, int]


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


def next_to_read(*, committed: int | None, start: int) -> int:
    """Where a group's consumer resumes: its committed offset, or the earliest record kept when
    it never committed or its offset fell behind retention (auto_offset_reset=earliest)."""
    return start if committed is None else max(committed, start)


def partition_lags(
    *,
    reads: Mapping[str, Sequence[str]],
    partitions: Mapping[str, Sequence[Partition]],
    committed: Mapping[str, Mapping[Partition, int]],
    starts: Mapping[Partition, int],
    ends: Mapping[Partition, int],
) -> list[PartitionLag]:
    """One row per group and partition of each topic it reads (group -> topics in `reads`).
    A topic the broker does not have (yet) has no partitions and gives no rows."""
    lags: list[PartitionLag] = []
    for group, topics in sorted(reads.items()):
        positions = committed.get(group, {})
        for tp in (tp for topic in topics for tp in partitions.get(topic, ())):
            position = positions.get(tp)
            resume_at = next_to_read(committed=position, start=starts[tp])
            lags.append(PartitionLag(group=group, topic=tp[0], partition=tp[1], committed=position,
                                     end=ends[tp], lag=max(0, ends[tp] - resume_at)))
    return lags


def dead_letter_depth(
    *,
    dead_letter_topics: Mapping[str, str],
    partitions: Mapping[str, Sequence[Partition]],
    starts: Mapping[Partition, int],
    ends: Mapping[Partition, int],
    redriven: Mapping[str, int],
) -> dict[str, int]:
    """Event topic -> dead letters its .dlq topic holds (`dead_letter_topics`: event topic ->
    .dlq topic) minus those already re-driven (`redriven`: .dlq topic -> count). Records the
    retention removed leave with their count: the start offset moved past them."""
    depth = {}
    for topic, dlq in dead_letter_topics.items():
        held = sum(ends[tp] - starts[tp] for tp in partitions.get(dlq, ()))
        depth[topic] = max(0, held - redriven.get(dlq, 0))
    return depth


def waiting_heads(
    *, lags: Iterable[PartitionLag], agency_of_group: Mapping[str, str], starts: Mapping[Partition, int]
) -> dict[Partition, tuple[int, str]]:
    """Lagging partitions of the agencies' groups -> (offset of the oldest record the group has
    not taken, the agency). Nothing for a partition that keeps up: nothing to ask about."""
    heads: dict[Partition, tuple[int, str]] = {}
    for p in lags:
        if p.group in agency_of_group and p.lag > 0:
            tp = (p.topic, p.partition)
            heads[tp] = (next_to_read(committed=p.committed, start=starts[tp]), agency_of_group[p.group])
    return heads


def oldest_waiting(
    *,
    agencies: Iterable[str],
    agency_of: Mapping[Partition, str],
    head_timestamps_ms: Mapping[Partition, int | None],
    now: datetime,
) -> dict[str, float]:
    """Agency -> seconds (one decimal) since the oldest of its waiting records was written: the
    largest over its partitions. A head with no timestamp (the partition holds no record any
    more) counts as nothing waiting; a timestamp ahead of this clock as 0, not a negative age."""
    oldest = dict.fromkeys(agencies, 0.0)
    for tp, timestamp_ms in head_timestamps_ms.items():
        if timestamp_ms is not None:
            age = round(max(0.0, now.timestamp() - timestamp_ms / 1000), 1)
            oldest[agency_of[tp]] = max(oldest[agency_of[tp]], age)
    return oldest


class RateWindow:
    """Rates as differences between the first and last scan of the last `seconds`, held in
    memory: a restarted service has no history, and reports 0 until its second scan."""

    def __init__(self, *, seconds: float) -> None:
        self.seconds = seconds
        self._scans: deque[tuple[float, QueueSnapshot]] = deque()

    def add(self, *, at: float, snapshot: QueueSnapshot) -> None:
        """`at`: a monotonic clock's seconds. Keeps the newest scan at least `seconds` old as
        the window's start, so the window spans the full period once it has that much history."""
        self._scans.append((at, snapshot))
        while len(self._scans) > 2 and at - self._scans[1][0] >= self.seconds:
            self._scans.popleft()

    def per_minute(self, *, group: str | None = None, topic: str | None = None) -> float:
        """Messages per minute over the window: consumed by `group`, or written to `topic`."""
        if len(self._scans) < 2:
            return 0.0
        (begun, first), (ended, last) = self._scans[0], self._scans[-1]
        if group is not None:
            moved = last.consumed_by(group=group) - first.consumed_by(group=group)
        else:
            moved = last.end_offsets.get(topic or "", 0) - first.end_offsets.get(topic or "", 0)
        # A topic deleted and re-created starts its offsets again: never a negative rate.
        return round(max(0, moved) * 60.0 / max(ended - begun, 1e-9), 1)
