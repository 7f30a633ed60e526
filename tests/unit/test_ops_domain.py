"""The ops view's arithmetic without a broker: lag from offsets, dead letters waiting, the
oldest waiting referral's age, rates between scans, the API's rows and the exported metrics."""

from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry, generate_latest

from reporting.ops.collector import snapshot_metrics
from reporting.ops.domain import (
    PartitionLag,
    QueueSnapshot,
    RateWindow,
    dead_letter_depth,
    next_to_read,
    oldest_waiting,
    partition_lags,
    waiting_heads,
)
from reporting.ops.views import agency_rows, other_group_rows, queues_view
from shared.agencies import AGENCIES
from shared.settings import KafkaSettings

NOW = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
KAFKA = KafkaSettings(topic_prefix="p.", group_prefix="g.")
SKILLS = KAFKA.topics.referral_assigned("skills")


def tp(topic: str, partition: int) -> TopicPartition:
    return TopicPartition(topic, partition)


def lag(group: str, topic: str, partition: int, *, end: int, lag: int, committed: int | None = None) -> PartitionLag:
    return PartitionLag(group=group, topic=topic, partition=partition, committed=committed, end=end, lag=lag)


# --- where a group resumes, and its lag ------------------------------------------------------

@pytest.mark.parametrize(("committed", "start", "expected"), [
    (None, 0, 0),  # never committed: from the earliest record
    (None, 7, 7),  # never committed, the first records already deleted
    (12, 3, 12),  # committed: from there
    (2, 5, 5),  # committed behind retention: from the earliest record kept
])
def test_a_group_resumes_at_its_commit_or_the_earliest_record_kept(committed, start, expected):
    assert next_to_read(committed=committed, start=start) == expected


def test_lag_is_the_end_offset_minus_where_the_group_resumes_on_each_partition():
    partitions = {"a": [tp("a", 0), tp("a", 1)], "b": [tp("b", 0)]}
    starts = {tp("a", 0): 0, tp("a", 1): 4, tp("b", 0): 0}
    ends = {tp("a", 0): 10, tp("a", 1): 9, tp("b", 0): 5}
    lags = partition_lags(
        reads={"g.two": ("a", "b"), "g.one": ("a",)},
        partitions=partitions,
        committed={"g.two": {tp("a", 0): 10, tp("a", 1): 2, tp("b", 0): 3}},  # g.one never committed
        starts=starts, ends=ends,
    )
    assert lags == [
        lag("g.one", "a", 0, end=10, lag=10),
        lag("g.one", "a", 1, end=9, lag=5),  # the earliest kept record is 4
        lag("g.two", "a", 0, end=10, lag=0, committed=10),
        lag("g.two", "a", 1, end=9, lag=5, committed=2),  # its commit fell behind retention
        lag("g.two", "b", 0, end=5, lag=2, committed=3),
    ]


def test_a_topic_the_broker_does_not_have_gives_no_lag_rows():
    assert partition_lags(reads={"g.x": ("missing",)}, partitions={}, committed={}, starts={}, ends={}) == []


def test_lag_is_never_negative_when_a_commit_is_ahead_of_the_end_offset():
    # A topic deleted and re-created under a group that keeps its old commits.
    (row,) = partition_lags(reads={"g": ("a",)}, partitions={"a": [tp("a", 0)]}, committed={"g": {tp("a", 0): 50}},
                            starts={tp("a", 0): 0}, ends={tp("a", 0): 3})
    assert row.lag == 0


def test_the_snapshot_sums_lag_per_group_and_topic_and_what_each_group_is_past():
    snapshot = QueueSnapshot(taken_at=NOW, lags=(
        lag("g.a", "x", 0, end=10, lag=3), lag("g.a", "x", 1, end=4, lag=0), lag("g.a", "y", 0, end=6, lag=1),
        lag("g.b", "x", 0, end=10, lag=10),
    ))
    assert snapshot.lag_of(group="g.a") == 4
    assert snapshot.lag_of(group="g.a", topic="x") == 3
    assert snapshot.lag_of(group="g.none") == 0
    assert snapshot.consumed_by(group="g.a") == (10 - 3) + 4 + (6 - 1)
    assert snapshot.consumed_by(group="g.b") == 0


# --- dead letters waiting ---------------------------------------------------------------------

def test_dead_letters_waiting_are_those_held_minus_those_re_driven():
    partitions = {"a.dlq": [tp("a.dlq", 0), tp("a.dlq", 1)], "b.dlq": [tp("b.dlq", 0)]}
    starts = {tp("a.dlq", 0): 0, tp("a.dlq", 1): 2, tp("b.dlq", 0): 0}
    ends = {tp("a.dlq", 0): 3, tp("a.dlq", 1): 4, tp("b.dlq", 0): 1}
    depth = dead_letter_depth(
        dead_letter_topics={"a": "a.dlq", "b": "b.dlq", "c": "c.dlq"},  # c.dlq not created yet
        partitions=partitions, starts=starts, ends=ends, redriven={"a.dlq": 1, "b.dlq": 1},
    )
    assert depth == {"a": 3 + 2 - 1, "b": 0, "c": 0}


def test_re_driven_dead_letters_deleted_by_retention_never_make_the_depth_negative():
    depth = dead_letter_depth(dead_letter_topics={"a": "a.dlq"}, partitions={"a.dlq": [tp("a.dlq", 0)]},
                              starts={tp("a.dlq", 0): 5}, ends={tp("a.dlq", 0): 6}, redriven={"a.dlq": 4})
    assert depth == {"a": 0}


# --- the oldest waiting referral ------------------------------------------------------------

def test_only_lagging_partitions_of_agency_groups_are_read_for_the_oldest_referral():
    lags = [
        lag("g.agency.skills", SKILLS, 0, end=5, lag=2, committed=3),
        lag("g.agency.skills", SKILLS, 1, end=5, lag=0, committed=5),  # keeping up: nothing to read
        lag("g.agency.skills", SKILLS, 2, end=8, lag=8),  # never committed, 3 records deleted
        lag("g.reporting.assigned", SKILLS, 0, end=5, lag=5),  # not an agency's group
    ]
    heads = waiting_heads(lags=lags, agency_of_group={"g.agency.skills": "skills"},
                          starts={tp(SKILLS, 0): 0, tp(SKILLS, 1): 0, tp(SKILLS, 2): 3})
    assert heads == {(SKILLS, 0): (3, "skills"), (SKILLS, 2): (3, "skills")}


def test_an_agency_s_oldest_wait_is_the_oldest_head_over_its_partitions():
    ms = lambda seconds_ago: int((NOW - timedelta(seconds=seconds_ago)).timestamp() * 1000)  # noqa: E731
    welfare = KAFKA.topics.referral_assigned("welfare")
    oldest = oldest_waiting(
        agencies=AGENCIES,
        agency_of={(SKILLS, 0): "skills", (SKILLS, 1): "skills", (welfare, 0): "welfare", (welfare, 1): "welfare"},
        head_timestamps_ms={
            (SKILLS, 0): ms(90.04), (SKILLS, 1): ms(3600),
            (welfare, 0): None,  # the record could not be read in time: counted as nothing waiting
            (welfare, 1): ms(-30),  # written by a broker whose clock is ahead: not a negative age
        },
        now=NOW,
    )
    assert oldest == {"employment": 0.0, "skills": 3600.0, "welfare": 0.0, "social_security": 0.0}


# --- rates between scans ----------------------------------------------------------------------

def scan_with(*, consumed: int, written: int) -> QueueSnapshot:
    return QueueSnapshot(taken_at=NOW, lags=(lag("g.agency.skills", SKILLS, 0, end=written, lag=written - consumed),),
                         end_offsets={SKILLS: written})


def test_no_rate_before_the_second_scan():
    window = RateWindow(seconds=300)
    assert window.per_minute(group="g.agency.skills") == 0.0
    window.add(at=0, snapshot=scan_with(consumed=0, written=100))
    assert window.per_minute(group="g.agency.skills") == 0.0
    assert window.per_minute(topic=SKILLS) == 0.0


def test_rates_are_per_minute_between_the_first_and_last_scan_of_the_window():
    window = RateWindow(seconds=300)
    window.add(at=1000, snapshot=scan_with(consumed=0, written=10))
    window.add(at=1030, snapshot=scan_with(consumed=5, written=40))
    assert window.per_minute(group="g.agency.skills") == 10.0  # 5 in 30 s
    assert window.per_minute(topic=SKILLS) == 60.0  # 30 written in 30 s
    assert window.per_minute(group="g.unknown") == 0.0
    assert window.per_minute(topic="p.no-such-topic") == 0.0


def test_the_window_forgets_scans_older_than_its_length_but_keeps_a_full_span():
    window = RateWindow(seconds=300)
    consumed = [0, 60, 120, 180, 240, 300, 360, 420, 480, 540, 1200]  # one scan a minute; a burst at the end
    for minute, total in enumerate(consumed):
        window.add(at=minute * 60.0, snapshot=scan_with(consumed=total, written=10_000))
    # The window is the last 5 minutes (scans at 300 s and 600 s): 900 consumed over 300 s.
    assert window.per_minute(group="g.agency.skills") == 180.0


def test_a_rate_never_goes_negative_when_offsets_start_again():
    window = RateWindow(seconds=300)
    window.add(at=0, snapshot=scan_with(consumed=50, written=50))
    window.add(at=60, snapshot=scan_with(consumed=0, written=2))  # the topic was re-created
    assert window.per_minute(group="g.agency.skills") == 0.0
    assert window.per_minute(topic=SKILLS) == 0.0


# --- the API's rows and the metrics ---------------------------------------------------------

def busy_snapshot() -> QueueSnapshot:
    return QueueSnapshot(
        taken_at=NOW,
        lags=(
            lag("g.agency.skills", SKILLS, 0, end=7, lag=3, committed=4),
            lag("g.agency.skills", SKILLS, 1, end=2, lag=0, committed=2),
            lag("g.reporting.assigned", SKILLS, 0, end=7, lag=1, committed=6),
            lag("g.reporting.assigned", KAFKA.topics.referral_assigned("welfare"), 0, end=1, lag=1),
            lag("g.routing", KAFKA.topics.intake_submitted, 0, end=4, lag=0, committed=4),
        ),
        end_offsets={SKILLS: 9},
        dead_letters={SKILLS: 2, KAFKA.topics.intake_submitted: 0},
        oldest_waiting_seconds={"skills": 42.5},
        overdue={"skills": 1, "welfare": 0},
    )


def test_each_agency_has_a_row_with_its_lag_age_rates_dead_letters_overdue_and_partitions():
    window = RateWindow(seconds=300)
    window.add(at=0, snapshot=scan_with(consumed=0, written=0))
    window.add(at=60, snapshot=busy_snapshot())
    rows = {row["agency"]: row for row in agency_rows(snapshot=busy_snapshot(), kafka=KAFKA, rates=window)}
    assert list(rows) == list(AGENCIES)
    skills = rows["skills"]
    assert {k: v for k, v in skills.items() if k not in ("name_th", "name_en")} == {
        "agency": "skills", "topic": SKILLS, "consumer_group": "g.agency.skills",
        "lag": 3, "oldest_waiting_seconds": 42.5, "rate_per_minute": 6.0, "arrivals_per_minute": 9.0,
        "dead_letters": 2, "overdue": 1,
        "partitions": [{"partition": 0, "lag": 3, "committed": 4, "end": 7},
                       {"partition": 1, "lag": 0, "committed": 2, "end": 2}],
    }
    assert skills["name_en"] and skills["name_th"]
    assert (rows["welfare"]["lag"], rows["welfare"]["oldest_waiting_seconds"], rows["welfare"]["partitions"]) == (
        0, 0.0, [])


def test_other_groups_are_listed_per_topic_with_their_lag_summed_over_partitions():
    rows = other_group_rows(snapshot=busy_snapshot(), excluded={"g.agency.skills"})
    assert rows == [
        {"consumer_group": "g.reporting.assigned", "topic": SKILLS, "lag": 1},
        {"consumer_group": "g.reporting.assigned", "topic": KAFKA.topics.referral_assigned("welfare"), "lag": 1},
        {"consumer_group": "g.routing", "topic": KAFKA.topics.intake_submitted, "lag": 0},
    ]


def test_the_queues_answer_leaves_agency_groups_out_of_the_other_groups():
    view = queues_view(snapshot=busy_snapshot(), kafka=KAFKA, rates=RateWindow(seconds=300), scan_seconds=15,
                       scan_error="KafkaConnectionError")
    assert (view["as_of"], view["scan_seconds"], view["scan_error"]) == (NOW.isoformat(), 15, "KafkaConnectionError")
    assert "g.agency.skills" not in {g["consumer_group"] for g in view["groups"]}
    assert view["dead_letters"] == [
        {"topic": KAFKA.topics.intake_submitted, "dlq_topic": KAFKA.topics.intake_submitted + ".dlq", "waiting": 0},
        {"topic": SKILLS, "dlq_topic": SKILLS + ".dlq", "waiting": 2},
    ]


def test_the_metrics_of_a_snapshot_use_the_names_and_labels_teams_chart():
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in snapshot_metrics(snapshot=busy_snapshot()) for sample in family.samples
    }
    assert samples[("kafka_consumergroup_lag", (("consumergroup", "g.agency.skills"), ("partition", "0"),
                                                ("topic", SKILLS)))] == 3
    assert samples[("kafka_consumergroup_lag_sum", (("consumergroup", "g.agency.skills"), ("topic", SKILLS)))] == 3
    assert samples[("kafka_consumergroup_lag_sum", (("consumergroup", "g.reporting.assigned"), ("topic", SKILLS)))] == 1
    assert samples[("songtor_referral_oldest_waiting_seconds", (("agency", "skills"),))] == 42.5
    assert samples[("songtor_dead_letters_depth", (("topic", SKILLS),))] == 2
    assert samples[("songtor_referrals_overdue", (("agency", "skills"),))] == 1
    assert samples[("songtor_topic_end_offset", (("topic", SKILLS),))] == 9
    assert samples[("songtor_ops_last_scan_timestamp_seconds", ())] == NOW.timestamp()
    # Every family renders as Prometheus text (names, help and label sets valid together).
    registry = CollectorRegistry()
    registry.register(type("Scan", (), {"collect": lambda self: snapshot_metrics(snapshot=busy_snapshot())})())
    assert generate_latest(registry).decode().count("# TYPE ") == 7
