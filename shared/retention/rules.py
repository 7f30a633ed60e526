"""The retention rules every service with a database has: its consumers' inbox, its outbox, and
its audit log of personal-data reads."""

from datetime import timedelta

from sqlalchemy import select

from shared.auth.audit import PersonalDataRead, PersonalDataReadPerson
from shared.db.inbox import InboxEntry
from shared.db.outbox import OutboxMessage
from shared.db.retention import RetentionRule
from shared.retention.settings import RetentionSettings

# A referral in one of these statuses moves no more (agency_adapters.lifecycle.FINAL_STATUSES,
# checked equal by a test): its period of retention starts when it got there.
CLOSED_STATUSES = frozenset({"completed", "declined", "unreachable", "transferred", "cancelled"})


def days(n: int) -> timedelta:
    return timedelta(days=n)


def common_rules(settings: RetentionSettings) -> list[RetentionRule]:
    inbox, outbox = InboxEntry.__table__, OutboxMessage.__table__
    reads, read_people = PersonalDataRead.__table__, PersonalDataReadPerson.__table__
    # A read's people are as old as the read; they go first, so no person row outlives its read
    # (a run that stops between the two leaves only reads without people, never the reverse).
    read_at = select(reads.c.at).where(reads.c.read_id == read_people.c.read_id).scalar_subquery()
    return [
        # Event ids only: no personal data, but a table that would grow for ever.
        RetentionRule(name="inbox", table=inbox, age=inbox.c.processed_at, max_age=days(settings.inbox_days),
                      personal=False),
        # Only published rows: a pending row is an event not yet sent, and must never be lost.
        RetentionRule(name="outbox.published", table=outbox, age=outbox.c.published_at,
                      where=outbox.c.published_at.is_not(None), max_age=days(settings.outbox_days)),
        RetentionRule(name="audit.read_people", table=read_people, age=read_at, max_age=days(settings.audit_days)),
        RetentionRule(name="audit.reads", table=reads, age=reads.c.at, max_age=days(settings.audit_days)),
    ]
