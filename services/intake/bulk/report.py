"""What a clerk is told about a job: its status, and its error report as CSV for Excel."""

import csv
import io
import json
from collections.abc import Sequence

from intake.bulk.models import BulkErrorRecord, BulkJobRecord

ERROR_REPORT_HEADER = ("row", "column", "value", "reason", "reason_th")
# Excel opens a CSV as UTF-8 only when it starts with a byte-order mark; without it Thai is garbled.
BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def status_url(job_id: str) -> str:
    return f"/v1/intake-jobs/{job_id}"


def job_status(job: BulkJobRecord) -> dict:
    started, finished = job.started_at, job.finished_at
    return {
        "job_id": job.job_id,
        "state": job.state,
        "filename": job.filename,
        "file_kind": job.file_kind,
        "file_bytes": job.file_bytes,
        "received_at": job.received_at.isoformat(),
        "submitted_by": job.submitted_by,
        "started_at": started.isoformat() if started else None,
        "finished_at": finished.isoformat() if finished else None,
        "duration_seconds": round((finished - started).total_seconds(), 1) if started and finished else None,
        # Progress: rows_done of sheet_rows are behind us (blank rows included, the header too).
        "sheet_rows": job.sheet_rows,
        "rows_done": job.last_row,
        "rows_read": job.rows_read,
        "accepted": job.accepted,
        "refused": job.refused,
        "error_lines": job.error_lines,
        "warnings": json.loads(job.warnings_json),
        "failure": job.failure,
        "status_url": status_url(job.job_id),
        "errors_url": f"{status_url(job.job_id)}/errors.csv",
    }


def _cell(text: str) -> str:
    """Excel runs a cell starting with = + - @ as a formula, even from a CSV: a typed value is
    shown as text instead (with a leading apostrophe), never executed."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def csv_lines(rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(value) if isinstance(value, str) else value for value in row])
    return buffer.getvalue()


def error_report_start() -> str:
    return BOM + csv_lines([ERROR_REPORT_HEADER])


def error_report_lines(errors: Sequence[BulkErrorRecord]) -> str:
    return csv_lines([(e.row, e.column_header, e.value, e.reason, e.reason_th) for e in errors])
