"""Referral events: assigned to an agency (with the person, and routed: without), updated by
it, or unroutable."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared import ids
from shared.agencies import Agency, Category, WorkerType
from shared.contracts.envelope import EventEnvelope
from shared.contracts.intake import Address
from shared.contracts.sealed import Sealed

ReferralStatus = Literal[
    "assigned", "received", "accepted", "in_progress",
    "completed", "declined", "unreachable", "transferred", "cancelled",
]


class AgencyPerson(BaseModel):
    """What an agency may know of the person: identity and contact (sealed with the person's key,
    opened by the agency adapters), never the source programme, sex or birth date."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    identity: Sealed = Field(description="National ID, name and phone (SealedIdentity), sealed with the person's key: "
                             "an agency's own system reads them through the agency adapters' API or its webhook.")
    worker_type: WorkerType = Field(examples=["informal"])
    address: Address


class ReferralAssignedV2(EventEnvelope):
    """A need routed to one agency. Published on `referral.assigned.<agency>`, keyed by referral_id."""

    event_type: Literal["referral.assigned"] = "referral.assigned"
    schema_version: Literal[2] = 2
    referral_id: str = Field(description="Deterministic id from intake id and need code.")
    intake_id: str
    agency: Agency = Field(examples=["employment"])
    need_code: str = Field(examples=["job_registration"])
    need_note: Sealed | None = Field(default=None, description="The reporter's free text, sealed with the person's key.")
    category: Category = Field(description="Assistance category the forms count it under.", examples=["promote"])
    person_ref: str
    person: AgencyPerson
    catalog_version: str = Field(description="Version of the need catalog that routed it.", examples=["2026.11.1"])
    routing_rule: str = Field(description="The catalog rule that matched.", examples=["need:job_registration"])
    transferred_from: str | None = Field(
        default=None, description="The referral this one continues, when another agency transferred it."
    )


class ReferralRoutedV1(EventEnvelope):
    """Where a referral went, without the person. Published on `referral.routed`, keyed by referral_id.

    Published with every `referral.assigned` (same transaction, same key) so that a service that
    only shows statuses, such as intake, needs no personal data: the `referral.assigned.<agency>`
    topics carry the name, national ID, phone and address, and least knowledge keeps their
    readers to the agency concerned. Hence no `person`, no `person_ref` and no `need_note` (free
    text may hold personal data). Build it with `routed_from(assigned)`.
    """

    event_type: Literal["referral.routed"] = "referral.routed"
    schema_version: Literal[1] = 1
    referral_id: str = Field(
        description="The referral the assignment announced (deterministic from intake id and need code).",
        examples=["4b0e2f3c-8d7a-5e61-9c2b-1a3d5f7e9b10"],
    )
    intake_id: str = Field(description="The intake the need came from.", examples=["a2d9b3a4-6a0e-4c4e-9a57-1f2a3b4c5d6e"])
    agency: Agency = Field(description="The agency it went to.", examples=["employment"])
    need_code: str = Field(description="The need, as coded in the need catalog.", examples=["job_registration"])
    category: Category = Field(description="Assistance category the forms count it under.", examples=["promote"])
    catalog_version: str = Field(
        description="Version of the need catalog that routed it ('transfer' for a transfer).", examples=["2026.11.1"]
    )
    routing_rule: str = Field(description="The catalog rule that matched (or manual, or transfer:<from>-><to>).",
                              examples=["need:job_registration"])
    transferred_from: str | None = Field(
        default=None, description="The referral this one continues, when another agency transferred it.",
        examples=["9c1d7e2a-5b3f-5a48-8e60-2f4b6d8a0c13"],
    )


def routed_from(assigned: ReferralAssignedV2) -> ReferralRoutedV1:
    """The person-free twin of an assignment. Fields are copied one by one (never a dump of the
    assignment) so that a field added to the assignment cannot leak here; the event id derives
    from the assignment's, so a redelivered or replayed assignment yields the same routed event."""
    return ReferralRoutedV1(
        event_id=ids.derived_event_id(source_id=str(assigned.event_id), purpose="routed"),
        occurred_at=assigned.occurred_at,
        correlation_id=assigned.correlation_id,
        producer=assigned.producer,
        referral_id=assigned.referral_id,
        intake_id=assigned.intake_id,
        agency=assigned.agency,
        need_code=assigned.need_code,
        category=assigned.category,
        catalog_version=assigned.catalog_version,
        routing_rule=assigned.routing_rule,
        transferred_from=assigned.transferred_from,
    )


class ReferralUpdatedV2(EventEnvelope):
    """An agency moved a referral. Published on `referral.updated`, keyed by referral_id.

    v2 (issue 14): the words staff type with a move (`reason`, `note`) may name the person, so
    they travel sealed with the person's key, beside `person_ref`; the codes, statuses and
    outcome stay readable for the counts. v1 carried them in clear and is retired."""

    event_type: Literal["referral.updated"] = "referral.updated"
    schema_version: Literal[2] = 2
    referral_id: str
    intake_id: str
    person_ref: str = Field(description="Pseudonymous person reference: whose key seals `reason` and `note`.",
                            examples=["9f2c4e1a0b7d3e58"])
    agency: Agency
    status: ReferralStatus = Field(examples=["received"])
    previous_status: ReferralStatus = Field(examples=["assigned"])
    version: int = Field(
        ge=2, description="Per-referral move counter: the assignment is 1, each agency move adds one."
    )
    outcome_code: str | None = Field(default=None, description="With completed.", examples=["placed"])
    outcome_details: dict[str, str | float | int] = Field(
        default_factory=dict, description="What the outcome requires.", examples=[{"employer": "บจก. สุโขทัยการเกษตร"}]
    )
    reason_code: str | None = Field(default=None, description="With declined.", examples=["person_refused"])
    reason: Sealed | None = Field(
        default=None, description="Why, in words (transfer, cancellation, decline), sealed with the person's key "
        "(field `move_reason`). Absent when none was given, or when the person was erased before the move.")
    transferred_to: str | None = Field(default=None, description="With transferred: the new referral's id.")
    note: Sealed | None = Field(default=None, description="Staff's note on the move, sealed like `reason` "
                                "(field `move_note`).")
    actor: str = Field(description="Who made the move (officer id or 'system').", examples=["system"])


class NeedUnroutableV1(EventEnvelope):
    """A need no routing rule matched. Published on `referral.unroutable`, keyed by referral_id."""

    event_type: Literal["referral.unroutable"] = "referral.unroutable"
    schema_version: Literal[1] = 1
    referral_id: str
    intake_id: str
    need_code: str
    reason: str = Field(examples=["need code 'xyz' is not in catalog 2026.11.1"])


class ReferralOverdueV1(EventEnvelope):
    """A referral missed a deadline (in Thai working days) and reached a rung of the escalation
    ladder. Published once per referral, stage and rung on `referral.overdue`, keyed by referral_id."""

    event_type: Literal["referral.overdue"] = "referral.overdue"
    schema_version: Literal[1] = 1
    referral_id: str
    intake_id: str
    agency: Agency
    status: ReferralStatus = Field(description="The status when the breach was found.")
    stage: Literal["acknowledge", "finish"] = Field(description="Which deadline was missed.")
    due_date: date = Field(description="The last working day the stage was due (Asia/Bangkok).")
    working_days_overdue: int = Field(ge=0)
    escalation_level: str = Field(examples=["agency_head"], description="Who must now act.")
