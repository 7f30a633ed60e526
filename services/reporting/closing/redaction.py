"""Erasing a person from the form versions already filed: their line stays (the count was filed),
without their name and ID, in the rows, the amendment notices, the CSV and the XLSX.

Decided over keeping filed versions whole under a legal-retention rule because a filed version is
served again (GET …/published/…) long after it was sent: what the office sent remains with the
ministry, while Songtor's copy no longer names the person. The version's content_sha256 keeps
naming the file as it was first published (report.published said so); the redacted file no
longer matches it, which the published listing says (`redacted`, with the file's `csv_sha256`),
and the erasure's confirmation counts the versions redacted.
"""

import io
import json

from openpyxl import load_workbook
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.closing.changes import ERASED_KEY, mask
from reporting.closing.models import PublishedReport
from reporting.forms.table import ERASED_PERSON_TH


def redacted_text(text: str, *, replacements: dict[str, str]) -> str:
    for clear, instead in replacements.items():
        text = text.replace(clear, instead)
    return text


def redacted_xlsx(body: bytes, *, replacements: dict[str, str]) -> bytes:
    workbook = load_workbook(io.BytesIO(body))
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and any(clear in cell.value for clear in replacements):
                    cell.value = redacted_text(cell.value, replacements=replacements)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def replacements_for(rows: dict[str, list[str]], *, national_id: str) -> dict[str, str]:
    """The person's name as that version printed it (the cell before the ID: SP-12's and SNB-2's
    layouts alike), their ID and its masked form, and what each becomes. Longest first, so a
    name that contains another is replaced whole."""
    cells = rows[national_id]
    found = {national_id: "", mask(national_id): ERASED_PERSON_TH}
    position = cells.index(national_id)
    if position > 0 and cells[position - 1]:
        found[cells[position - 1]] = ERASED_PERSON_TH
    return dict(sorted(found.items(), key=lambda pair: -len(pair[0])))


async def redact_filed_versions(session: AsyncSession, *, national_id: str) -> int:
    """Every filed version that lists `national_id`, redacted in place; returns how many."""
    found = (await session.exec(select(PublishedReport).where(col(PublishedReport.rows_json).contains(national_id)))).all()
    redacted = 0
    for report in found:
        rows = json.loads(report.rows_json)
        if national_id not in rows:
            continue
        replacements = replacements_for(rows, national_id=national_id)
        cells = [redacted_text(cell, replacements=replacements) for cell in rows.pop(national_id)]
        rows[f"{ERASED_KEY}{sum(key.startswith(ERASED_KEY) for key in rows) + 1}"] = cells
        await session.exec(update(PublishedReport).where(  # type: ignore[call-overload]
            PublishedReport.form == report.form, PublishedReport.scope == report.scope,
            PublishedReport.month == report.month, PublishedReport.version == report.version).values(
            rows_json=json.dumps(rows, ensure_ascii=False),
            changes_json=redacted_text(report.changes_json, replacements=replacements),
            csv=redacted_text(report.csv.decode("utf-8"), replacements=replacements).encode("utf-8"),
            xlsx=redacted_xlsx(report.xlsx, replacements=replacements),
        ))
        redacted += 1
    return redacted
