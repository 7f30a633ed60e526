"""The feed's tables: which intakes and people are fed, the records in their order, and the events
that came before what they depend on.

A record is stored without the person's identity: the identity is opened from reporting's sealed
copy (report_people) with the person's key when the record is sent, so an erasure before it
goes leaves nothing to send, and nothing here names anyone."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from shared.delivery.models import DeliveryColumns

# pending: to send when its turn comes; delivered: the receiver took it; parked: refused or out
# of attempts, its person's later records wait behind it; withdrawn / erased: will never be sent
# (consent withdrawn, person erased) and no longer hold anything back.
RECORD_STATES = ("pending", "delivered", "parked", "withdrawn", "erased")
OPEN_STATES = ("pending", "parked")


class FeedIntake(SQLModel, table=True):
    """Each intake, and whether its help is fed. The row is also what the feed's consumers lock
    before they look at an intake: an assignment that finds it not `seen` waits (FeedWaiting), and
    the intake's own consumer, which takes the same lock, releases it after that wait committed."""

    __tablename__ = "national_feed_intakes"

    intake_id: str = Field(primary_key=True, max_length=36)
    person_ref: str = Field(index=True, max_length=64)
    seen: bool = False  # False: made by an assignment or a move that came first
    org_unit: str | None = Field(default=None, max_length=20)
    program: str | None = Field(default=None, max_length=20)
    received_at: datetime | None = None
    fed: bool = False


class FeedPerson(SQLModel, table=True):
    """A person with at least one fed intake: their consent and their records' numbering."""

    __tablename__ = "national_feed_people"

    person_ref: str = Field(primary_key=True, max_length=64)
    next_position: int = 1
    consent_at: datetime | None = None      # the latest intake that asked, and what it said
    consented: bool = False
    withdrawn_at: datetime | None = None    # the latest withdrawal (person.consents)
    first_org_unit: str = Field(max_length=20)
    first_program: str = Field(max_length=20)


class FeedRecord(DeliveryColumns, table=True):
    """A record for the national system, with its delivery (shared/delivery: state, attempts,
    lease, parking and re-drive), in the states RECORD_STATES."""

    __tablename__ = "national_feed_records"
    __table_args__ = (Index("ix_national_feed_records_person_position", "person_ref", "position"),)

    delivery_id: str = Field(primary_key=True, max_length=36)
    person_ref: str = Field(max_length=64)
    # The order the person's records were made in, and go in. `sequence`, the number the
    # receiver sees, is given when a record is first sent: records that were never sent
    # (withdrawn, erased) leave no gap in it.
    position: int
    sequence: int | None = None
    kind: str = Field(max_length=12)
    referral_id: str | None = Field(default=None, index=True, max_length=36)
    version: int = 0
    occurred_at: datetime
    body_json: str  # the record without `sequence` and `person` (added when it is sent)


class FeedWaiting(SQLModel, table=True):
    """An assignment or a move that arrived before what it depends on (its intake, or its
    assignment): kept until that comes, then turned into its record in order."""

    __tablename__ = "national_feed_waiting"

    referral_id: str = Field(primary_key=True, max_length=36)
    version: int = Field(primary_key=True)
    intake_id: str = Field(index=True, max_length=36)
    event_json: str  # no identity: assignments are stored with their person sealed, moves carry none in clear
    arrived_at: datetime


FEED_TABLES = [FeedIntake.__table__, FeedPerson.__table__, FeedRecord.__table__, FeedWaiting.__table__]
