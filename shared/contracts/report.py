"""report.published v1: a monthly form frozen at its month close, or amended after it."""

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field

from shared.contracts.envelope import EventEnvelope


class ReportPublishedV1(EventEnvelope):
    """A numbered version of one form for one scope and month, stored by reporting. Version 1 is
    the close on the due day; every later version is an amendment saying what changed. Keyed by
    `report_key` on `report.published`. Carries counts, never names or IDs."""

    event_type: Literal["report.published"] = "report.published"
    schema_version: Literal[1] = 1
    report_key: str = Field(description="form/scope/month.", examples=["sp12/6406/2026-11"])
    form: Literal["sp12", "snb2"] = Field(description="SP-12 per org unit, SNB-2 per province.", examples=["sp12"])
    scope: str = Field(description="Org unit code (SP-12) or province code (SNB-2).", examples=["6406"])
    month: str = Field(description="YYYY-MM, Asia/Bangkok.", examples=["2026-11"])
    version: int = Field(ge=1, description="1 at close; each amendment adds one.", examples=[1])
    kind: Literal["original", "amendment"] = Field(examples=["original"])
    due_date: date = Field(description="The day the form was due (Asia/Bangkok).", examples=["2026-11-25"])
    closed_at: AwareDatetime = Field(description="When this version was frozen.", examples=["2026-11-25T17:00:00Z"])
    on_time: bool = Field(description="Whether version 1 was frozen on or before its due day.", examples=[True])
    people: int = Field(ge=0, description="People listed (the form's จำนวน … คน).", examples=[12])
    rows_added: int = Field(default=0, ge=0, description="People new in this version.", examples=[0])
    rows_removed: int = Field(default=0, ge=0, description="People no longer listed.", examples=[0])
    rows_changed: int = Field(default=0, ge=0, description="People whose cells changed.", examples=[1])
    content_sha256: str = Field(description="SHA-256 of the CSV file of this version.", examples=["9f86d0…"])
    download_path: str = Field(description="Where reporting serves this version.",
                               examples=["/v1/reports/published/sp12/6406/2026-11/1.xlsx"])
