"""The agency adapters' table: each agency's referrals, as that agency may see them."""

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel

from agency_adapters.webhooks.models import CallbackNonce, WebhookDelivery
from shared.db import InboxEntry, OutboxMessage
from shared.privacy import KEY_TABLES


class AgencyReferral(SQLModel, table=True):
    __tablename__ = "agency_referrals"

    referral_id: str = Field(primary_key=True, max_length=36)
    agency: str = Field(index=True, max_length=40)
    intake_id: str = Field(max_length=36)
    need_code: str = Field(max_length=64)
    need_note: str | None = None  # the reporter's free text, sealed (Sealed JSON); opened by views.py
    category: str = Field(max_length=20)
    person_ref: str = Field(max_length=64)
    # The person's province when referred (from their address): the scope officers and the
    # provincial office see the referral in. A transfer's continuation keeps it.
    province_code: str = Field(index=True, max_length=2)
    # The agency view of the person as it arrived (AgencyPerson JSON: identity and contact sealed
    # with the person's key, address): never the source programme. Opened by views.py.
    person_json: str
    status: str = Field(index=True, max_length=20)
    version: int
    outcome_code: str | None = Field(default=None, max_length=64)
    outcome_details_json: str = "{}"
    reason_code: str | None = Field(default=None, max_length=64)
    note: str | None = None
    transferred_from: str | None = Field(default=None, max_length=36)
    transferred_to: str | None = Field(default=None, max_length=36)
    assigned_at: datetime
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ReferralMove(SQLModel, table=True):
    """Every move of a referral, in order: its history (`GET /v1/referrals/{id}/history`)."""

    __tablename__ = "agency_referral_moves"

    referral_id: str = Field(primary_key=True, max_length=36)
    version: int = Field(primary_key=True)
    status: str = Field(max_length=20)
    previous_status: str | None = Field(default=None, max_length=20)
    actor: str = Field(max_length=255)  # the token subject (OIDC allows 255), "system" or "<agency>-system[:user]"
    at: datetime
    outcome_code: str | None = Field(default=None, max_length=64)
    outcome_details_json: str = "{}"
    reason_code: str | None = Field(default=None, max_length=64)
    reason: str | None = None
    note: str | None = None


class OverdueNotice(SQLModel, table=True):
    """One row per referral, stage and rung already announced: each breach is announced once."""

    __tablename__ = "agency_overdue_notices"

    referral_id: str = Field(primary_key=True, max_length=36)
    stage: str = Field(primary_key=True, max_length=20)
    level: str = Field(primary_key=True, max_length=60)
    announced_at: datetime


TABLES = [
    AgencyReferral.__table__, ReferralMove.__table__, OverdueNotice.__table__, WebhookDelivery.__table__,
    CallbackNonce.__table__, InboxEntry.__table__, OutboxMessage.__table__, *KEY_TABLES,
]
