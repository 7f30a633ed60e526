"""One delivery row per referral sent to an agency's system (the shared delivery columns,
shared/delivery/models.py), and the nonces of the callbacks it sent back."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from shared.delivery.models import DeliveryColumns


class WebhookDeliveryKey(SQLModel):
    """A delivery's own columns. Declared apart and named last among WebhookDelivery's bases so
    that they stay the table's first columns (fields are laid out from the last base to the
    first): a table created now has the columns in the order of the tables already deployed."""

    referral_id: str = Field(primary_key=True, max_length=36)
    agency: str = Field(index=True, max_length=40)


class WebhookDelivery(DeliveryColumns, WebhookDeliveryKey, table=True):
    __tablename__ = "agency_webhook_deliveries"


class CallbackNonce(SQLModel, table=True):
    """Nonces of signed callbacks already taken, kept until their signature's window has passed
    (after that the timestamp check refuses the request anyway). In the database, so that every
    adapter process refuses a replay that another one already answered."""

    __tablename__ = "agency_callback_nonces"

    agency: str = Field(primary_key=True, max_length=40)
    nonce: str = Field(primary_key=True, max_length=128)
    expires_at: datetime = Field(index=True)
