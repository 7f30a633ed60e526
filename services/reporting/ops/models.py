"""Reporting's own operations tables: overdue notices it heard of, and dead letters re-driven."""

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel


class OverdueReferral(SQLModel, table=True):
    """One row per overdue notice (referral, stage, rung) read from referral.overdue. Whether the
    referral is still open is read from its ReferralFact, which referral.updated keeps current."""

    __tablename__ = "ops_overdue_notices"

    referral_id: str = Field(primary_key=True, max_length=36)
    stage: str = Field(primary_key=True, max_length=20)
    level: str = Field(primary_key=True, max_length=60)
    agency: str = Field(index=True, max_length=40)
    announced_at: datetime


class DeadLetterRedrive(SQLModel, table=True):
    """A dead letter sent back to its topic. The key is the dead letter's own position, so the
    same one cannot be re-driven twice (a second attempt collides on it and is refused)."""

    __tablename__ = "ops_dlq_redrives"

    dlq_topic: str = Field(primary_key=True, max_length=249)
    dlq_partition: int = Field(primary_key=True)
    dlq_offset: int = Field(primary_key=True)
    target_topic: str = Field(max_length=249)
    actor: str = Field(max_length=255)  # the token subject of whoever re-drove it
    reason: str = Field(max_length=500)
    redriven_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


OPS_TABLES = [OverdueReferral.__table__, DeadLetterRedrive.__table__]
