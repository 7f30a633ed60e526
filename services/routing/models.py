"""Routing's table: every routing decision, so that anyone can read back why a need went where."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from shared.db import InboxEntry, OutboxMessage


class RoutingDecision(SQLModel, table=True):
    __tablename__ = "routing_decisions"

    referral_id: str = Field(primary_key=True, max_length=36)
    intake_id: str = Field(index=True, max_length=36)
    need_code: str = Field(max_length=64)
    need_note: str | None = None  # the reporter's free text, sealed (Sealed JSON): routing cannot open it
    province_code: str = Field(max_length=2)
    # "routed" by a rule, "unroutable" (waiting for triage), or "triaged" by a person.
    state: str = Field(index=True, max_length=20)
    agency: str | None = Field(default=None, max_length=40)
    category: str | None = Field(default=None, max_length=20)
    rule: str = Field(max_length=120)
    explanation: str
    catalog_version: str = Field(max_length=40)
    person_ref: str = Field(max_length=64)
    # The agency view of the person (identity sealed), kept only while the need waits for triage
    # (so that it can then be assigned); cleared once it is. Never the source programme.
    person_json: str | None = None
    decided_at: datetime
    decided_by: str = Field(max_length=255)  # "routing", or the token subject (OIDC allows 255)
    # Every decision on this referral, oldest first: [{at, by, state, agency, rule, reason}].
    history_json: str = "[]"


TABLES = [RoutingDecision.__table__, InboxEntry.__table__, OutboxMessage.__table__]
