"""The intake service's tables: the intakes it accepted, the latest status of each referral, and the
person-level requests (erasures, withdrawn consents) recorded here."""

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel

from shared.db import InboxEntry, OutboxMessage
from shared.privacy import KEY_TABLES


class IntakeRecord(SQLModel, table=True):
    __tablename__ = "intakes"

    intake_id: str = Field(primary_key=True, max_length=36)
    received_at: datetime
    person_ref: str = Field(index=True, max_length=64)
    program: str = Field(max_length=40)
    org_unit: str = Field(max_length=20)
    province_code: str = Field(max_length=2)
    # The token's subject of the clerk who submitted it (for a sheet: who uploaded it). Not the
    # body's source.reported_by, which names the field officer who met the person.
    submitted_by: str = Field(default="", max_length=255, index=True)
    # The accepted event as published: the intake's own record of what it said.
    event_json: str
    warnings_json: str = "[]"


class ReferralStatusRecord(SQLModel, table=True):
    __tablename__ = "intake_referral_status"

    referral_id: str = Field(primary_key=True, max_length=36)
    intake_id: str = Field(index=True, max_length=36)
    need_code: str = Field(max_length=64)
    # Dedupe looks up a person's open referrals by this pseudonymous reference.
    person_ref: str = Field(index=True, max_length=64)
    agency: str | None = Field(default=None, max_length=40)
    status: str = Field(default="submitted", max_length=20)
    status_version: int = 0
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class OpenNeedClaim(SQLModel, table=True):
    """The referral a person's need was last opened as: one row per (person_ref, need_code). Two
    intakes of one person and need committed at the same moment (two intake processes, or two
    group commits) both find no open referral to join; the key makes the second one's claim fail,
    and taken in again it joins the first one's referral (submission.py).

    Only the opening of a referral writes it. A claim whose referral has since closed (completed,
    transferred, unroutable...) is stale: the next intake that opens the need replaces it,
    deleting it by its referral_id and inserting its own, so that the replacement races like a
    first claim. Nothing else has to keep it current (status updates, transfers, erasure and
    retention leave it be), and a database without claims for its open referrals is valid:
    dedupe still reads who is open from intake_referral_status."""

    __tablename__ = "intake_open_need_claims"

    person_ref: str = Field(primary_key=True, max_length=64)
    need_code: str = Field(primary_key=True, max_length=64)
    referral_id: str = Field(max_length=36)


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a POST that carried an `Idempotency-Key`, replayed on retries."""

    __tablename__ = "intake_idempotency"

    key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_json: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ErasureRequest(SQLModel, table=True):
    """A person's erasure as asked for: whom (person_ref, never the ID), who asked and why."""

    __tablename__ = "intake_erasures"

    erasure_id: str = Field(primary_key=True, max_length=36)
    person_ref: str = Field(index=True, max_length=64)
    reason: str = Field(max_length=1000)
    requested_by: str = Field(max_length=255)  # the token's subject
    requested_at: datetime
    # The provinces the person had intakes in, when asked: whose offices may follow the request.
    provinces_json: str = "[]"


class ErasureConfirmation(SQLModel, table=True):
    """One service's confirmation that it erased what it held of the person."""

    __tablename__ = "intake_erasure_confirmations"

    erasure_id: str = Field(primary_key=True, max_length=36)
    service: str = Field(primary_key=True, max_length=40)
    confirmed_at: datetime
    removed_json: str = "{}"


class ConsentWithdrawal(SQLModel, table=True):
    """A consent the person gave at intake and later withdrew: whose (person_ref, never the ID),
    which consent, who recorded it, when and why. Kept: it is the record that the person said no."""

    __tablename__ = "intake_consent_withdrawals"

    withdrawal_id: str = Field(primary_key=True, max_length=36)
    person_ref: str = Field(index=True, max_length=64)
    scope: str = Field(max_length=40)  # which consent: "national_system"
    reason: str = Field(max_length=1000)
    withdrawn_by: str = Field(max_length=255)  # the token's subject
    withdrawn_at: datetime
    # The (org unit, province) of each of the person's intakes when it was recorded: whose clerks
    # and offices may read it back (scope.may_act_for_person).
    places_json: str = "[]"


TABLES = [
    IdempotencyRecord.__table__,
    IntakeRecord.__table__,
    ReferralStatusRecord.__table__,
    OpenNeedClaim.__table__,
    InboxEntry.__table__,
    OutboxMessage.__table__,
    *KEY_TABLES,
    ErasureRequest.__table__,
    ErasureConfirmation.__table__,
    ConsentWithdrawal.__table__,
]
