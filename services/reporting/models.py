"""Reporting facts: one row per referral, one per service delivered at intake."""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from reporting.registries.models import REGISTRY_TABLES
from reporting.closing.models import CLOSING_TABLES
from reporting.national_feed.models import FEED_TABLES
from shared.db import InboxEntry, OutboxMessage
from shared.privacy import KEY_TABLES


class ReferralFact(SQLModel, table=True):
    """Filled from three topics that arrive in any order; a row is counted once its intake
    (province, month, worker type) is known."""

    __tablename__ = "referral_facts"
    # SP-12 (and its month close) reads one org unit's month: without its own index that is a
    # scan of every fact (0.9 s at 1,000,000 facts, bench/monthly_aggregation.py).
    __table_args__ = (Index("ix_referral_facts_province_month", "province_code", "intake_month"),
                      Index("ix_referral_facts_org_unit_month", "org_unit", "intake_month"))

    referral_id: str = Field(primary_key=True, max_length=36)
    intake_id: str = Field(index=True, max_length=36)
    need_code: str | None = Field(default=None, max_length=64)
    agency: str | None = Field(default=None, max_length=40)
    category: str | None = Field(default=None, max_length=20)
    status: str = Field(default="submitted", max_length=20)
    status_version: int = 0
    outcome_code: str | None = Field(default=None, max_length=64)
    has_intake: bool = Field(default=False)
    province_code: str | None = Field(default=None, max_length=2)
    district_code: str | None = Field(default=None, max_length=4)
    subdistrict_code: str | None = Field(default=None, max_length=6)
    org_unit: str | None = Field(default=None, max_length=20)
    source_program: str | None = Field(default=None, max_length=40)
    worker_type: str | None = Field(default=None, max_length=20)
    person_ref: str | None = Field(default=None, max_length=64)
    intake_received_at: datetime | None = None
    intake_month: str | None = Field(default=None, max_length=7, description="YYYY-MM, Asia/Bangkok")
    completed_month: str | None = Field(default=None, max_length=7)
    # Whether the person was on each registry when referred, and the snapshot that says so
    # (registry_stamps): None with no import id when no snapshot was in effect then.
    informal_registry: bool | None = None
    informal_registry_import_id: int | None = None
    tpmap_registry: bool | None = None
    tpmap_registry_import_id: int | None = None
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


FACT_COLUMNS: tuple[str, ...] = tuple(column.name for column in ReferralFact.__table__.columns)


class FactRow:
    """A referral_facts row as plain attributes, for the consumers' read-modify-write: the
    projections change it as they would a ReferralFact, without the ORM's instrumentation on
    every attribute and its unit of work at flush (a third of reporting's SQLAlchemy time under
    load), and repository.write_facts writes a batch's changed rows in one statement."""

    __slots__ = FACT_COLUMNS

    def __init__(self, values: Iterable[Any]) -> None:
        for name, value in zip(FACT_COLUMNS, values, strict=True):
            setattr(self, name, value)

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FACT_COLUMNS}


AnyFact = ReferralFact | FactRow
"""What the projections take: a loaded row in the consumers, a model in tests and tools."""


class IntakeServiceFact(SQLModel, table=True):
    """A service delivered at intake (e.g. drug-prevention outreach): counted, never referred."""

    __tablename__ = "intake_service_facts"
    # Summaries read a province's services over a month or a fiscal year's range of months.
    __table_args__ = (Index("ix_intake_service_facts_province_month", "province_code", "intake_month"),
                      Index("ix_intake_service_facts_org_unit_month", "org_unit", "intake_month"))

    intake_id: str = Field(primary_key=True, max_length=36)
    need_code: str = Field(primary_key=True, max_length=64)
    category: str = Field(max_length=20)
    province_code: str = Field(max_length=2)
    district_code: str = Field(max_length=4)
    org_unit: str = Field(max_length=20)
    source_program: str = Field(max_length=40)
    worker_type: str = Field(max_length=20)
    person_ref: str = Field(max_length=64)
    intake_month: str = Field(max_length=7)
    intake_received_at: datetime | None = None
    informal_registry: bool | None = None  # as on ReferralFact, at the intake's time
    informal_registry_import_id: int | None = None
    tpmap_registry: bool | None = None
    tpmap_registry_import_id: int | None = None
    # When reporting learnt of it: a service recorded after its month was closed amends the forms.
    recorded_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ReportPerson(SQLModel, table=True):
    """Who a person_ref is, for the forms: the SP-12 and SNB-2 list people by name and 13-digit ID.
    Kept sealed as the latest intake gave it (`identity_json`, a Sealed SealedIdentity), opened
    with the person's key only while a form or summary is built; every summary masks the ID. When
    the person is erased their key goes, and this row opens to nothing: the forms mark them."""

    __tablename__ = "report_people"

    person_ref: str = Field(primary_key=True, max_length=64)
    identity_json: str
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class MonthlyReferralCount(SQLModel, table=True):
    """Rollup of the referral facts at the grain of the monthly summary: how many referrals of a
    province's month are at each (agency, category, status, worker type). Kept by the same
    transaction that changes a fact (reporting.rollups), so `GET /v1/reports/monthly` reads a
    few hundred rows however many millions of facts there are. '' stands for not yet known
    (a primary key column cannot be NULL)."""

    __tablename__ = "monthly_referral_counts"

    province_code: str = Field(primary_key=True, max_length=2)
    intake_month: str = Field(primary_key=True, max_length=7)
    agency: str = Field(primary_key=True, max_length=40)
    category: str = Field(primary_key=True, max_length=20)
    status: str = Field(primary_key=True, max_length=20)
    worker_type: str = Field(primary_key=True, max_length=20)
    referrals: int = 0


class MonthlyServiceCount(SQLModel, table=True):
    """Rollup of the services delivered at intake per province, month and need."""

    __tablename__ = "monthly_service_counts"

    province_code: str = Field(primary_key=True, max_length=2)
    intake_month: str = Field(primary_key=True, max_length=7)
    need_code: str = Field(primary_key=True, max_length=64)
    services: int = 0


class RollupState(SQLModel, table=True):
    """One row once the rollups hold every fact: written by the backfill of a database whose
    facts predate the rollups (reporting.rollups.backfill), or at once when it starts empty."""

    __tablename__ = "rollup_state"

    id: int = Field(default=1, primary_key=True)
    filled_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    facts_at_fill: int = 0


ROLLUP_TABLES = [MonthlyReferralCount.__table__, MonthlyServiceCount.__table__, RollupState.__table__]
TABLES = [ReferralFact.__table__, IntakeServiceFact.__table__, ReportPerson.__table__, InboxEntry.__table__,
          OutboxMessage.__table__, *CLOSING_TABLES, *KEY_TABLES, *REGISTRY_TABLES,
          *ROLLUP_TABLES, *FEED_TABLES]
