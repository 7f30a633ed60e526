"""The record Songtor sends the national treatment-and-rehabilitation system (บสต.), version 1.

Published as JSON Schema (docs/national-feed/record.v1.schema.json, by
scripts/publish_contracts.py) so that the national system's team can build the receiver from it.
A breaking change is a new `schema` value and a new model, never an edit of this one.

Per person, records are numbered from 1 without gaps (`sequence`) and sent one at a time in that
order: the next is sent only once the receiver accepted the one before. Every record has a
`delivery_id` that never changes, however often it is sent: the receiver deduplicates on it.
"""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.agencies import Agency
from shared.contracts import ReferralStatus

SCHEMA_V1 = "songtor.national-feed.record.v1"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Centre(_Frozen):
    org_unit: str = Field(description="The rehabilitation or CI centre's org unit (DOPA code of the unit).",
                          examples=["6406"])
    program: Literal["rehab_center", "ci_center"] = Field(description="Which kind of centre sent the person.",
                                                          examples=["rehab_center"])


class Identity(_Frozen):
    national_id: str = Field(pattern=r"^[0-9]{13}$", examples=["3640100456781"])
    full_name: str = Field(examples=["สมชาย ใจดี"])


class NationalCategory(_Frozen):
    code: str = Field(description="The national system's category of help after treatment (assistance map).",
                      examples=["occupation"])
    label_th: str = Field(examples=["ด้านอาชีพและการมีงานทำ"])


class Outcome(_Frozen):
    code: str = Field(description="The agency's outcome code (shared/catalog/outcomes.toml).", examples=["placed"])
    label_th: str = Field(examples=["ได้งานทำ / บรรจุงานแล้ว"])
    national_category: NationalCategory
    details: dict[str, str | float | int] = Field(default_factory=dict, description="What the outcome records.",
                                                  examples=[{"employer": "บจก. สุโขทัยการเกษตร", "monthly_wage": 9000}])


class Assistance(_Frozen):
    assistance_id: str = Field(description="Songtor's referral id: one help asked of one agency.",
                               examples=["4b0e2f3c-8d7a-5e61-9c2b-1a3d5f7e9b10"])
    need_code: str = Field(examples=["job_registration"])
    national_category: NationalCategory = Field(description="The help asked for, in the national categories.")
    agency: Agency = Field(examples=["employment"])
    status: ReferralStatus = Field(description="Where the help stands: assigned (asked of the agency), received, "
                                   "accepted, in_progress, then completed, declined, unreachable, transferred "
                                   "or cancelled.", examples=["completed"])
    version: int = Field(ge=1, description="The assistance's own counter: 1 when asked, one more per change. "
                         "Keep the highest version of each assistance_id.", examples=[4])
    outcome: Outcome | None = Field(default=None, description="With completed.")
    reason_code: str | None = Field(default=None, description="With declined (Songtor's decline reasons).",
                                    examples=["person_refused"])
    transferred_from: str | None = Field(default=None, description="The assistance this one continues, at another "
                                         "agency, when it was transferred.")
    transferred_to: str | None = Field(default=None, description="With transferred: the assistance that continues it.")


class NationalRecordV1(_Frozen):
    schema_: Literal["songtor.national-feed.record.v1"] = Field(default=SCHEMA_V1, alias="schema")
    delivery_id: UUID = Field(description="Never changes for this record, however often it is sent: deduplicate on it.")
    person_id: str = Field(description="Songtor's pseudonymous id of the person, the same in all their records.",
                           examples=["9f2c4e1a0b7d3e58"])
    sequence: int = Field(ge=1, description="The record's place among the person's records, from 1, without gaps.")
    kind: Literal["person", "assistance"] = Field(
        description="person: who the person is and which centre sent them (once, first); assistance: a help asked "
                    "of an agency or a change in it (its outcome included).")
    occurred_at: datetime = Field(description="When it happened in Songtor (UTC).")
    mapping_version: str = Field(description="Version of the assistance map the categories come from.",
                                 examples=["2026.12.1"])
    centre: Centre
    person: Identity | None = Field(default=None, description="With kind person.")
    assistance: Assistance | None = Field(default=None, description="With kind assistance.")
    replaces: UUID | None = Field(default=None, description="The delivery_id of this assistance's previous record, "
                                  "which this one corrects: a late outcome updates the help already sent, it is "
                                  "never a second person or a second help.")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
