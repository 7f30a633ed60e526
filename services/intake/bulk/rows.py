"""One sheet row to the intake form's JSON body, and each refusal back to the sheet column.

The row is checked by the form itself (`IntakeRequest.model_validate`), exactly as the API
checks a POSTed body; checks against the catalog come later, from `submit_many`'s 422 answers.
Both kinds of error name a field path (`person.national_id`, `needs[1].code`); the clerk needs
the column of their own sheet instead, so each path is mapped back to the header it came from.
Pure: no I/O.
"""

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from intake.bulk import cells
from intake.bulk.cells import Cell, CellError
from intake.bulk.columns import BY_KEY, HeaderMatch
from intake.clerk_errors import describe
from intake.request import IntakeRequest
from intake.scope import Submitter, not_covered
from intake.submission import Answer, Submission, fingerprint

_ADDRESS = ("subdistrict_code", "subdistrict", "district", "province", "postal_code")
_FIELD_COLUMNS = {
    "source.program": "program",
    "source.org_unit": "org_unit",
    "source.reported_by": "reported_by",
    "person.national_id": "national_id",
    "person.full_name": "full_name",
    "person.sex": "sex",
    "person.birth_date": "birth_date",
    "person.phone": "phone",
    "person.worker_type": "worker_type",
    **{f"person.address.{key}": key for key in _ADDRESS},
    "needs": "needs",
    "consent": "consent",
    "consent.share_with_agencies": "consent",
    "consent.recorded_at": "consent_recorded_at",
    "consent.share_with_national_system": "consent_national_system",
}
_NEED_FIELD = re.compile(r"^needs\[\d+\](?:\.(code|note))?$")


@dataclass(frozen=True, slots=True)
class RowDefaults:
    """What a row leaves out: the consent time is the upload's, in the offices' time zone; and
    who submits it: the clerk who uploaded the sheet."""

    consent_recorded_at: datetime
    zone: ZoneInfo
    submitter: Submitter


@dataclass(frozen=True, slots=True)
class Problem:
    """One line of the error report."""

    row: int
    column: str
    value: str
    reason: str
    reason_th: str


@dataclass(frozen=True, slots=True)
class SheetRow:
    number: int  # as the sheet shows it: the header is row 1
    cells: dict[str, Cell]  # column key -> the cell as read


@dataclass(frozen=True, slots=True)
class PreparedRow:
    row: SheetRow
    submission: Submission | None
    problems: tuple[Problem, ...] = ()


def sheet_row(number: int, values: Sequence[Cell], *, match: HeaderMatch) -> SheetRow | None:
    """The row's cells by column key; None for a row with nothing in it (skipped, not refused)."""
    picked = {key: values[index] if index < len(values) else None for key, index in match.positions.items()}
    # Only the known columns count: templates often number rows ahead ("ลำดับ") with no one in them.
    if all(cells.as_text(value) == "" for value in picked.values()):
        return None
    return SheetRow(number, picked)


def build_body(row: SheetRow, *, defaults: RowDefaults) -> tuple[dict[str, Any], dict[str, CellError]]:
    """The JSON body `POST /v1/intakes` takes; cells that cannot be read are left out and
    returned as errors by column key."""
    failed: dict[str, CellError] = {}

    def read(key: str, parse=cells.as_text):  # noqa: ANN001, ANN202
        try:
            value = parse(row.cells.get(key))
        except CellError as error:
            failed[key] = error
            return None
        return None if value in ("", None) else value

    def present(**fields: Any) -> dict[str, Any]:
        return {name: value for name, value in fields.items() if value is not None}

    birth_date = read("birth_date", cells.parse_date)
    recorded_at = read("consent_recorded_at", lambda v: cells.parse_moment(v, zone=defaults.zone))
    note = read("need_note")
    body = {
        "source": present(program=read("program", cells.parse_program), org_unit=read("org_unit"),
                          reported_by=read("reported_by")),
        "person": present(
            national_id=read("national_id"),
            full_name=read("full_name"),
            sex=read("sex", cells.parse_sex),
            birth_date=birth_date.isoformat() if birth_date else None,
            phone=read("phone"),
            worker_type=read("worker_type", cells.parse_worker_type),
            address=present(**{key: read(key) for key in _ADDRESS}),
        ),
        "needs": [present(code=code, note=note) for code in cells.parse_need_codes(row.cells.get("needs"))],
        "consent": present(
            share_with_agencies=read("consent", cells.parse_yes_no),
            recorded_at=(recorded_at or defaults.consent_recorded_at).isoformat(),
            share_with_national_system=read("consent_national_system", cells.parse_yes_no),
        ),
    }
    return body, failed


def prepare(row: SheetRow, *, match: HeaderMatch, defaults: RowDefaults, job_id: str) -> PreparedRow:
    """Validate the row with the intake form; a valid one becomes a submission whose
    Idempotency-Key is its place in the job, so a resumed job replays instead of duplicating.
    A row for an org unit the uploader does not cover is refused for that alone: it is not
    theirs to submit, so its other cells are not checked (the clerk of that unit will be told)."""
    org_unit = cells.as_text(row.cells.get("org_unit"))
    if org_unit and not defaults.submitter.covers(org_unit):
        return PreparedRow(row, None, (to_problem(not_covered(defaults.submitter, org_unit), row=row, match=match),))
    body, failed = build_body(row, defaults=defaults)
    problems = [
        Problem(row.number, _header(key, match), cells.as_text(row.cells.get(key)), error.reason, error.reason_th)
        for key, error in failed.items()
    ]
    try:
        request = IntakeRequest.model_validate(body)
    except ValidationError as invalid:
        request = None
        for error in (describe(e) for e in invalid.errors()):
            # A cell already refused was left out; the form's "required" for it says nothing new.
            keys = _columns_of(error["field"], row, match)
            if not (keys and keys[0] in failed):
                problems.append(to_problem(error, row=row, match=match))
    if problems or request is None:
        return PreparedRow(row, None, tuple(unique(problems)))
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False).encode()
    submission = Submission(request=request, submitter=defaults.submitter,
                            idempotency_key=f"bulk:{job_id}:{row.number}", fingerprint=fingerprint(canonical))
    return PreparedRow(row, submission)


def answer_problems(answer: Answer, *, row: SheetRow, match: HeaderMatch) -> list[Problem]:
    """The refusals in a `submit_many` answer (422 or 403 with field errors, or 409), per column."""
    if answer.status_code == 202:
        return []
    errors = answer.body.get("errors") or [
        {"field": "", "value": None, "reason": str(answer.body.get("detail", f"Refused ({answer.status_code}).")),
         "reason_th": "ระบบไม่รับแถวนี้"}
    ]
    return unique(to_problem(error, row=row, match=match) for error in errors)


def unique(problems: Iterable[Problem]) -> list[Problem]:
    """One line per distinct problem: a note too long for each of three needs is one mistake."""
    return list(dict.fromkeys(problems))


def to_problem(error: dict[str, Any], *, row: SheetRow, match: HeaderMatch) -> Problem:
    """A clerk error (field, value, reason, reason_th) told in the sheet's own columns."""
    keys = _columns_of(error["field"], row, match)
    if not keys:
        column, value = "", "" if error.get("value") is None else str(error["value"])
    else:
        column = " / ".join(_header(key, match) for key in keys)
        typed = [cells.as_text(row.cells.get(key)) for key in keys]
        value = " / ".join(typed) if len(keys) > 1 else typed[0]
        if keys == ["needs"] and isinstance(error.get("value"), str):
            value = error["value"]  # the one code refused, not the whole list
    reason = error["reason"]
    reason_th = error.get("reason_th") or (BY_KEY[keys[0]].hint_th if keys else "ค่าไม่ถูกต้อง")
    if keys == ["phone"] and isinstance(row.cells.get("phone"), int | float):
        reason += " Excel stored it as a number and dropped the leading 0: format the column as Text."
        reason_th += " (Excel เก็บเป็นตัวเลขและตัดเลข 0 นำหน้าออก กรุณาจัดรูปแบบคอลัมน์เป็นข้อความ)"
    return Problem(row.number, column, value, reason, reason_th)


def _columns_of(field: str, row: SheetRow, match: HeaderMatch) -> list[str]:
    """The sheet column(s) a field path's value came from; [] when it is the whole row."""
    if key := _FIELD_COLUMNS.get(field):
        return [key]
    if found := _NEED_FIELD.match(field):
        return ["need_note" if found.group(1) == "note" else "needs"]
    if field == "person.address":
        in_sheet = [key for key in _ADDRESS if key in match.positions]
        filled = [key for key in in_sheet if cells.as_text(row.cells.get(key))]
        return filled or in_sheet
    return []


def _header(key: str, match: HeaderMatch) -> str:
    return match.headers.get(key, BY_KEY[key].english)
