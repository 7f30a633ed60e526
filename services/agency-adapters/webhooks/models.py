"""One delivery row per referral sent to an agency's system: its state survives restarts, so a
referral that cannot be delivered waits, or is parked in plain sight, and is never lost."""

from datetime import datetime
from typing import Literal

from sqlmodel import Field, SQLModel

DeliveryState = Literal["pending", "delivered", "parked"]


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "agency_webhook_deliveries"

    referral_id: str = Field(primary_key=True, max_length=36)
    agency: str = Field(index=True, max_length=40)
    state: str = Field(index=True, max_length=12)
    attempts: int = 0
    next_attempt_at: datetime = Field(index=True)
    # A sender claims the row until then, so two adapter processes never send it together.
    lease_until: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=300)
    created_at: datetime
    delivered_at: datetime | None = None
    parked_at: datetime | None = None
    redrive_count: int = 0
    last_redrive_by: str | None = Field(default=None, max_length=255)  # the token subject (OIDC allows 255)
    last_redrive_reason: str | None = Field(default=None, max_length=500)


class CallbackNonce(SQLModel, table=True):
    """Nonces of signed callbacks already taken, kept until their signature's window has passed
    (after that the timestamp check refuses the request anyway). In the database, so that every
    adapter process refuses a replay that another one already answered."""

    __tablename__ = "agency_callback_nonces"

    agency: str = Field(primary_key=True, max_length=40)
    nonce: str = Field(primary_key=True, max_length=128)
    expires_at: datetime = Field(index=True)
