"""Tables of bulk intake: each uploaded sheet's job, and the lines of its error report."""

import json
from datetime import UTC, datetime

from sqlmodel import Field, SQLModel

from intake.scope import Submitter

JOB_STATES = ("queued", "running", "done", "failed")


def utc_now() -> datetime:
    return datetime.now(UTC)


class BulkJobRecord(SQLModel, table=True):
    __tablename__ = "intake_bulk_jobs"

    job_id: str = Field(primary_key=True, max_length=36)
    state: str = Field(default="queued", max_length=10, index=True)
    # The name the clerk's file had: shown back in the status, never logged (it may name a person).
    filename: str = Field(max_length=255)
    file_path: str = Field(max_length=1000)
    file_kind: str = Field(max_length=4)
    file_bytes: int
    file_sha256: str = Field(max_length=64)
    idempotency_key: str | None = Field(default=None, max_length=200, unique=True)
    received_at: datetime  # also the consent time of rows that give none
    # Who uploaded it (the token's subject) and the scope their token had then: each row is
    # submitted as theirs, and refused when its org unit is not one they cover.
    submitted_by: str = Field(default="", max_length=255, index=True)
    submitter_org_units: str = "[]"  # JSON lists
    submitter_provinces: str = "[]"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    sheet_rows: int | None = None  # number of the sheet's last row, for progress
    # The last sheet row whose outcome is recorded: a resumed job carries on after it.
    last_row: int = 0
    rows_read: int = 0
    accepted: int = 0
    refused: int = 0
    error_lines: int = 0
    warnings_json: str = "[]"
    failure: str | None = None
    # Who runs it, and when it last said so: a job whose worker fell silent is taken over.
    worker: str | None = Field(default=None, max_length=100)
    heartbeat_at: datetime | None = None


def job_submitter(job: BulkJobRecord) -> Submitter:
    return Submitter(job.submitted_by, frozenset(json.loads(job.submitter_org_units)),
                     frozenset(json.loads(job.submitter_provinces)))


def submitter_columns(submitter: Submitter) -> dict[str, str]:
    return {"submitted_by": submitter.subject,
            "submitter_org_units": json.dumps(sorted(submitter.org_units)),
            "submitter_provinces": json.dumps(sorted(submitter.provinces))}


class BulkErrorRecord(SQLModel, table=True):
    """One line of a job's error report. The value is what the clerk typed: the report exists
    to show it back to them."""

    __tablename__ = "intake_bulk_errors"

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(index=True, max_length=36)
    row: int
    column_header: str
    value: str
    reason: str
    reason_th: str


TABLES = [BulkJobRecord.__table__, BulkErrorRecord.__table__]
