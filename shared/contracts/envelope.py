"""The envelope every Songtor event shares."""

from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class EventEnvelope(BaseModel):
    """Fields common to every event. Subclasses pin `event_type` and `schema_version`.

    Consumers are tolerant readers (unknown fields are ignored), so adding an optional field is
    compatible; removing or changing one is a new schema version.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: UUID = Field(
        description="Unique id of this event; derived deterministically so that a replay "
        "produces the same id and consumers can ignore what they already applied.",
        examples=["0b6f3c52-3c1f-5a57-9a53-0f1f7b2f1d11"],
    )
    occurred_at: AwareDatetime = Field(
        description="When the fact happened, in UTC.", examples=["2026-11-02T02:30:00Z"]
    )
    correlation_id: str = Field(
        description="The intake this event descends from; follows the work across services.",
        examples=["a2d9b3a4-6a0e-4c4e-9a57-1f2a3b4c5d6e"],
    )
    producer: str = Field(description="The service that emitted the event.", examples=["routing"])
