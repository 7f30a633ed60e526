"""How a dead letter is shown to operations: where from, which group, why, and the re-drive;
the record's key and size, never its payload (a person's data)."""

from datetime import UTC, datetime

from aiokafka import ConsumerRecord

from reporting.ops.dead_letters import describe_dead_letter
from reporting.ops.models import DeadLetterRedrive
from shared.kafka import DeadLetterHeaders

PAYLOAD = '{"person": {"national_id": "3640100456781", "full_name": "สมชาย ใจดี"}}'.encode()
AT = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)


def record(*, headers: dict[str, str], key: bytes | None = b"referral-1") -> ConsumerRecord:
    return ConsumerRecord(
        topic="p.referral.assigned.skills.dlq", partition=2, offset=7, timestamp=int(AT.timestamp() * 1000),
        timestamp_type=0, key=key, value=PAYLOAD, checksum=None, serialized_key_size=len(key or b""),
        serialized_value_size=len(PAYLOAD), headers=[(name, value.encode()) for name, value in headers.items()],
    )


HEADERS = {
    DeadLetterHeaders.ORIGINAL_TOPIC: "p.referral.assigned.skills",
    DeadLetterHeaders.ORIGINAL_PARTITION: "1",
    DeadLetterHeaders.ORIGINAL_OFFSET: "41",
    DeadLetterHeaders.CONSUMER_GROUP: "g.agency.skills",
    DeadLetterHeaders.EXCEPTION_CLASS: "ProgrammingError",
    DeadLetterHeaders.EXCEPTION_MESSAGE: "permission denied for table agency_referrals",
    DeadLetterHeaders.SERVICE: "agency-adapters",
    DeadLetterHeaders.ATTEMPTS: "12",
}


def test_a_dead_letter_shows_where_it_came_from_and_why_but_never_its_payload():
    shown = describe_dead_letter(record(headers=HEADERS), redrive=None)
    assert shown == {
        "dlq_topic": "p.referral.assigned.skills.dlq", "partition": 2, "offset": 7,
        "dead_lettered_at": AT.isoformat(), "key": "referral-1", "size_bytes": len(PAYLOAD),
        "original_topic": "p.referral.assigned.skills", "original_partition": 1, "original_offset": 41,
        "consumer_group": "g.agency.skills", "service": "agency-adapters",
        "exception_class": "ProgrammingError", "reason": "permission denied for table agency_referrals",
        "attempts": 12, "redrive": None,
    }
    assert "3640100456781" not in repr(shown) and "สมชาย" not in repr(shown)


def test_a_re_driven_dead_letter_shows_who_re_drove_it_why_and_when():
    redrive = DeadLetterRedrive(dlq_topic="p.referral.assigned.skills.dlq", dlq_partition=2, dlq_offset=7,
                                target_topic="p.referral.assigned.skills", actor="officer-0042",
                                reason="grant restored", redriven_at=AT)
    assert describe_dead_letter(record(headers=HEADERS), redrive=redrive)["redrive"] == {
        "actor": "officer-0042", "reason": "grant restored", "target_topic": "p.referral.assigned.skills",
        "at": AT.isoformat(),
    }


def test_a_record_without_dead_letter_headers_is_listed_with_what_is_known():
    # Put on a .dlq topic by hand, or by a tool that writes no headers: listed, not a failure.
    bare = record(headers={DeadLetterHeaders.ORIGINAL_OFFSET: "not-a-number"}, key=None)
    shown = describe_dead_letter(bare, redrive=None)
    assert (shown["key"], shown["original_topic"], shown["original_offset"], shown["reason"], shown["attempts"]) == (
        None, None, None, None, None)


def test_a_long_key_is_cut_to_a_hundred_characters():
    assert describe_dead_letter(record(headers=HEADERS, key=b"k" * 500), redrive=None)["key"] == "k" * 100


def test_a_database_error_that_quotes_a_row_is_shown_without_the_row():
    # PostgreSQL's DETAIL line quotes the values it refused; a producer may key by national ID.
    quoted = ('(psycopg.errors.NotNullViolation) null value in column "agency" violates not-null constraint\n'
              'DETAIL:  Failing row contains (r-1, สมชาย ใจดี, 3640100456781, null).\n'
              '[SQL: INSERT INTO agency_referrals (referral_id) VALUES (%(referral_id)s)]')
    shown = describe_dead_letter(record(headers={**HEADERS, DeadLetterHeaders.EXCEPTION_MESSAGE: quoted},
                                        key=b"3640100456781"), redrive=None)
    assert shown["reason"] == ('(psycopg.errors.NotNullViolation) null value in column "agency" violates not-null '
                               'constraint\n[SQL: INSERT INTO agency_referrals (referral_id) VALUES (%(referral_id)s)]')
    assert shown["key"] == "x" * 13
    assert "3640100456781" not in repr(shown) and "สมชาย" not in repr(shown)
    digits = record(headers={**HEADERS, DeadLetterHeaders.EXCEPTION_MESSAGE: "bad id 1640600012347 at offset 12345"})
    assert describe_dead_letter(digits, redrive=None)["reason"] == "bad id xxxxxxxxxxxxx at offset 12345"
