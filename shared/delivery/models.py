"""The columns every delivery table has, whatever it delivers: its state survives restarts, so a
record that cannot be delivered waits, or is parked in plain sight, and is never lost. A channel's
table adds its own primary key (one column; shared/delivery/store.py finds it) and whatever names
its receiver, e.g.

    class FeedDelivery(DeliveryColumns, table=True):
        __tablename__ = "national_feed_deliveries"
        referral_id: str = Field(primary_key=True, max_length=36)

(its own columns then come after these; agency_adapters/webhooks/models.py shows how to put them
first.)"""

from datetime import datetime
from typing import Literal

from sqlmodel import Field, SQLModel

DeliveryState = Literal["pending", "delivered", "parked"]
DELIVERY_STATES: tuple[DeliveryState, ...] = ("pending", "delivered", "parked")


class DeliveryColumns(SQLModel):
    state: str = Field(index=True, max_length=12)
    attempts: int = 0
    next_attempt_at: datetime = Field(index=True)
    # A sender claims the row until then, so two processes never send it together.
    lease_until: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=300)
    created_at: datetime
    delivered_at: datetime | None = None
    parked_at: datetime | None = None
    redrive_count: int = 0
    last_redrive_by: str | None = Field(default=None, max_length=255)  # the token subject (OIDC allows 255)
    last_redrive_reason: str | None = Field(default=None, max_length=500)
