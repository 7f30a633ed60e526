"""When was the record at a given offset written, found without reading it: pure bisection on time.

The ops principal may Describe the agency topics but not Read them (their records hold names and
national IDs). What Describe allows is ListOffsets by timestamp: for a time T, the first offset
whose timestamp is >= T, with that record's timestamp (aiokafka's offsets_for_times). The agency
topics are stamped by the broker (message.timestamp.type=LogAppendTime), so timestamps never
decrease along a partition, and for the record at offset c:

    first_offset_at(T) <= c   exactly when   T <= timestamp(c)

which is what bisection needs. Every lagging partition is narrowed in the same round, so a round
is one ListOffsets request whatever the number of partitions.

The first probe asks for T = 0: the answer is the partition's first record kept. When that record
is at or after c, the records from c on were deleted by retention and the first kept one is the
oldest the group will read: its timestamp is the answer. When there is no record at all, nothing
waits. Offsets between the first kept record and the end are all records (delete policy, no
transactions on these topics), so the record at c exists whenever the first kept one is before it.

No I/O: scan.py asks the broker for each round's probes and hands the answers back here.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace

Partition = tuple[str, int]
# A ListOffsets-by-timestamp answer: (offset, its record's timestamp in ms), None when no record
# has a timestamp >= the one asked for.
Found = tuple[int, int] | None
PRECISION_MS = 1000  # an "oldest waiting, seconds" gauge needs no better


@dataclass(frozen=True, slots=True)
class HeadSearch:
    """What is known of the timestamp (ms) of the record at `offset`: lo <= timestamp <= hi."""

    offset: int
    lo: int
    hi: int
    probed: bool = False  # the first probe (T = lo = 0) not yet answered
    gone: bool = False  # the partition holds no record: nothing waits

    def done(self, *, precision_ms: int = PRECISION_MS) -> bool:
        return self.gone or (self.probed and self.hi - self.lo <= precision_ms)

    def probe(self) -> int:
        """The next time to ask about: 0 first, then a point in (lo, hi] that halves the bracket."""
        return self.lo if not self.probed else (self.lo + self.hi + 1) // 2


def begin(*, heads: Mapping[Partition, int], now_ms: int) -> dict[Partition, HeadSearch]:
    """`heads`: partition -> the offset whose record's timestamp is wanted."""
    return {tp: HeadSearch(offset=offset, lo=0, hi=max(0, now_ms)) for tp, offset in heads.items()}


def probes(searches: Mapping[Partition, HeadSearch], *, precision_ms: int = PRECISION_MS) -> dict[Partition, int]:
    """One round's questions: partition -> timestamp, for every search not yet done."""
    return {tp: s.probe() for tp, s in searches.items() if not s.done(precision_ms=precision_ms)}


def narrow(
    searches: Mapping[Partition, HeadSearch], *, asked: Mapping[Partition, int], answers: Mapping[Partition, Found]
) -> dict[Partition, HeadSearch]:
    """The searches after one round. A partition asked about but left out of `answers` is asked
    again next round (the bracket is unchanged)."""
    narrowed = dict(searches)
    for tp, at in asked.items():
        if tp in answers:
            narrowed[tp] = _narrow(searches[tp], at=at, found=answers[tp])
    return narrowed


def _narrow(search: HeadSearch, *, at: int, found: Found) -> HeadSearch:
    if not search.probed:
        if found is None:
            return replace(search, probed=True, gone=True)
        offset, timestamp = found
        if offset >= search.offset:  # c itself, or c was deleted: the first kept record waits longest
            return replace(search, probed=True, lo=timestamp, hi=timestamp)
        return replace(search, probed=True, lo=max(search.lo, timestamp))
    if found is not None and found[0] <= search.offset:
        offset, timestamp = found
        # The found record is at or before c, so c's timestamp is at least its own (>= at).
        lo = max(search.lo, at, timestamp)
        return replace(search, lo=lo, hi=lo if offset == search.offset else max(lo, search.hi))
    # No record from `at` on, or the first one is after c: c was written before `at`.
    return replace(search, hi=max(search.lo, at - 1))


def head_timestamps(searches: Mapping[Partition, HeadSearch]) -> dict[Partition, int | None]:
    """Partition -> the earliest timestamp (ms) the record can have (never under-states its wait),
    None when nothing waits there."""
    return {tp: None if s.gone else s.lo for tp, s in searches.items()}


def rounds_needed(*, now_ms: int, precision_ms: int = PRECISION_MS) -> int:
    """The most rounds a search can take (the first probe, then halvings of [0, now]): scan.py
    stops there, so answers that contradict each other (retention moving mid-search) cannot loop."""
    return 2 + max(1, now_ms // max(1, precision_ms)).bit_length()
