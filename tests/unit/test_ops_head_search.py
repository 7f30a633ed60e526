"""When the oldest waiting referral was written, found by ListOffsets by timestamp and never by
reading it (reporting.ops.head_search), against a fake partition whose timestamps never decrease
(the broker's LogAppendTime): ties, a start deleted by retention, a partition emptied, and the
scan's loop asking one request per round for every lagging partition."""

import bisect
from datetime import UTC, datetime, timedelta

from aiokafka import TopicPartition

from reporting.ops import head_search
from reporting.ops.domain import PartitionLag
from reporting.ops.head_search import PRECISION_MS, HeadSearch
from reporting.ops.scan import _oldest_waiting
from shared.settings import KafkaSettings

NOW = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
KAFKA = KafkaSettings(topic_prefix="p.", group_prefix="g.")
SKILLS, WELFARE = KAFKA.topics.referral_assigned("skills"), KAFKA.topics.referral_assigned("welfare")


def ago(seconds: float) -> int:
    return NOW_MS - int(seconds * 1000)


class Partition:
    """A partition's kept records: offsets start.. with non-decreasing timestamps (ms)."""

    def __init__(self, *, start: int, timestamps: list[int]) -> None:
        assert timestamps == sorted(timestamps), "LogAppendTime never goes back"
        self.start, self.timestamps = start, timestamps

    def timestamp_of(self, offset: int) -> int:
        return self.timestamps[offset - self.start]

    def first_at(self, at: int) -> tuple[int, int] | None:
        """What ListOffsets by timestamp answers: the first offset whose timestamp is >= at."""
        index = bisect.bisect_left(self.timestamps, at)
        return None if index == len(self.timestamps) else (self.start + index, self.timestamps[index])


class FakeReader:
    """Answers offsets_for_times from fake partitions and counts requests; it has no `read`, so a
    scan that tried to read a record would fail."""

    def __init__(self, partitions: dict[tuple[str, int], Partition]) -> None:
        self.partitions, self.requests = partitions, []

    async def offsets_for_times(self, *, timestamps):
        self.requests.append(dict(timestamps))
        return {tp: self.partitions[(tp.topic, tp.partition)].first_at(at) for tp, at in timestamps.items()}


def search(partitions: dict, heads: dict) -> tuple[dict, int]:
    """The scan's loop, synchronously: (timestamps found, rounds asked)."""
    searches, rounds = head_search.begin(heads=heads, now_ms=NOW_MS), 0
    for _ in range(head_search.rounds_needed(now_ms=NOW_MS)):
        asked = head_search.probes(searches)
        if not asked:
            break
        rounds += 1
        searches = head_search.narrow(searches, asked=asked,
                                      answers={tp: partitions[tp].first_at(at) for tp, at in asked.items()})
    return head_search.head_timestamps(searches), rounds


def test_the_timestamp_is_found_within_a_second_and_never_later_than_the_record_s():
    # A day of referrals arriving unevenly: bursts a few ms apart, then quiet hours.
    stamps = sorted(ago(s) for s in [86_400, 86_399.998, 50_000, 3_600.5, 3_600.2, 3_599, 61.7, 61.6, 5, 0.3])
    partition = Partition(start=0, timestamps=stamps)
    for offset in range(len(stamps)):
        found, rounds = search({(SKILLS, 0): partition}, {(SKILLS, 0): offset})
        truth = partition.timestamp_of(offset)
        assert truth - PRECISION_MS <= found[(SKILLS, 0)] <= truth, offset
        assert rounds <= head_search.rounds_needed(now_ms=NOW_MS)


def test_a_record_in_a_run_of_equal_timestamps_gets_exactly_that_timestamp():
    # The broker answers with the first record of the run and its timestamp, which is the head's.
    stamps = [ago(100)] * 3 + [ago(40)] * 500 + [ago(39.9)] * 2
    partition = Partition(start=0, timestamps=stamps)
    for offset in (0, 2, 3, 250, 502):
        found, _ = search({(SKILLS, 0): partition}, {(SKILLS, 0): offset})
        assert found[(SKILLS, 0)] == partition.timestamp_of(offset), offset
    # A run 100 ms after the one before it: within the second, never later.
    found, _ = search({(SKILLS, 0): partition}, {(SKILLS, 0): 504})
    assert ago(40) <= found[(SKILLS, 0)] <= ago(39.9)


def test_a_partition_whose_start_was_deleted_is_searched_from_its_first_kept_record():
    partition = Partition(start=1_000, timestamps=[ago(7_200), ago(3_600), ago(60)])
    # The head is the first kept record: the first probe (time 0) answers it outright.
    assert search({(SKILLS, 0): partition}, {(SKILLS, 0): 1_000}) == ({(SKILLS, 0): ago(7_200)}, 1)
    found, _ = search({(SKILLS, 0): partition}, {(SKILLS, 0): 1_002})
    assert ago(61) <= found[(SKILLS, 0)] <= ago(60)
    # Retention moved past the group's offset between the lag scan and this search: the first kept
    # record is the oldest the group will now read.
    assert search({(SKILLS, 0): partition}, {(SKILLS, 0): 990})[0] == {(SKILLS, 0): ago(7_200)}


def test_a_partition_with_no_record_left_has_nothing_waiting():
    emptied = Partition(start=50, timestamps=[])
    assert search({(SKILLS, 0): emptied}, {(SKILLS, 0): 42}) == ({(SKILLS, 0): None}, 1)


def test_a_record_stamped_ahead_of_this_clock_is_found_all_the_same():
    # The broker's clock is ahead of ours; domain.oldest_waiting counts such an age as 0.
    partition = Partition(start=0, timestamps=[ago(5), ago(-30)])
    assert search({(SKILLS, 0): partition}, {(SKILLS, 0): 1}) == ({(SKILLS, 0): ago(-30)}, 2)


def test_answers_that_contradict_each_other_cannot_make_the_search_loop():
    # Retention racing the search could answer anything; every answer still narrows the bracket.
    searches = head_search.begin(heads={(SKILLS, 0): 10}, now_ms=NOW_MS)
    for round_ in range(head_search.rounds_needed(now_ms=NOW_MS)):
        asked = head_search.probes(searches)
        if not asked:
            break
        answer = (20, 0) if round_ % 2 else (3, ago(86_400 * 3))  # after the head, then well before it
        searches = head_search.narrow(searches, asked=asked, answers={(SKILLS, 0): answer})
    assert head_search.probes(searches) == {}


def test_a_partition_left_out_of_an_answer_is_asked_the_same_question_again():
    searches = {(SKILLS, 0): HeadSearch(offset=4, lo=ago(100), hi=NOW_MS, probed=True)}
    asked = head_search.probes(searches)
    assert head_search.narrow(searches, asked=asked, answers={}) == searches


async def test_the_scan_asks_every_lagging_partition_in_one_request_per_round_and_reads_nothing():
    skills_0 = Partition(start=0, timestamps=[ago(900), ago(600), ago(300), ago(1)])
    skills_1 = Partition(start=200, timestamps=[ago(4_000), ago(3_000.5)])
    welfare_0 = Partition(start=7, timestamps=[])  # its records deleted since the lag scan
    reader = FakeReader({(SKILLS, 0): skills_0, (SKILLS, 1): skills_1, (SKILLS, 2): skills_0,
                         (WELFARE, 0): welfare_0})
    lags = [
        PartitionLag(group="g.agency.skills", topic=SKILLS, partition=0, committed=1, end=4, lag=3),
        PartitionLag(group="g.agency.skills", topic=SKILLS, partition=1, committed=None, end=202, lag=2),
        PartitionLag(group="g.agency.skills", topic=SKILLS, partition=2, committed=4, end=4, lag=0),  # keeps up
        PartitionLag(group="g.agency.welfare", topic=WELFARE, partition=0, committed=5, end=7, lag=2),
        PartitionLag(group="g.reporting.assigned", topic=SKILLS, partition=0, committed=0, end=4, lag=4),
    ]
    starts = {TopicPartition(SKILLS, 0): 0, TopicPartition(SKILLS, 1): 200, TopicPartition(SKILLS, 2): 0,
              TopicPartition(WELFARE, 0): 5}
    oldest = await _oldest_waiting(reader=reader, kafka=KAFKA, lags=lags, starts=starts, now=NOW)
    # skills: partition 1's head (offset 200, 4,000 s) is older than partition 0's (offset 1, 600 s).
    assert oldest == {"employment": 0.0, "skills": 4_000.0, "welfare": 0.0, "social_security": 0.0}
    assert all(set(asked) <= {TopicPartition(SKILLS, 0), TopicPartition(SKILLS, 1), TopicPartition(WELFARE, 0)}
               for asked in reader.requests)
    assert reader.requests[0] == {TopicPartition(SKILLS, 0): 0, TopicPartition(SKILLS, 1): 0,
                                  TopicPartition(WELFARE, 0): 0}
    assert len(reader.requests) <= head_search.rounds_needed(now_ms=NOW_MS)


async def test_nothing_is_asked_when_every_agency_keeps_up():
    reader = FakeReader({})
    lags = [PartitionLag(group="g.agency.skills", topic=SKILLS, partition=0, committed=4, end=4, lag=0)]
    oldest = await _oldest_waiting(reader=reader, kafka=KAFKA, lags=lags, starts={TopicPartition(SKILLS, 0): 0},
                                   now=NOW)
    assert set(oldest.values()) == {0.0} and reader.requests == []
