"""From a form's table to the files and rows of its next version: pure, and the same whether the
close builds in its own process or in a child (child.py)."""

import json
from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.closing.changes import compare, rows_by_person
from reporting.closing.models import PublishedReport
from reporting.forms import FormTable, render

Key = tuple[str, str, str]  # form, scope, month


@dataclass(frozen=True, slots=True)
class Version:
    rows_json: str
    changes: list[dict]
    csv: bytes
    xlsx: bytes


def render_version(table: FormTable, *, before_json: str | None) -> Version | None:
    """The next version of a form from its table: None when nothing differs from the version
    whose rows are `before_json`."""
    after = rows_by_person(table)
    changes: list[dict] = []
    if before_json is not None:
        before = {k: tuple(v) for k, v in json.loads(before_json).items()}
        difference = compare(before=before, after=after)
        if not difference.any:
            return None
        changes = difference.summary(before=before, after=after)
    return Version(rows_json=json.dumps(after, ensure_ascii=False), changes=changes,
                   csv=render(table, fmt="csv"), xlsx=render(table, fmt="xlsx"))


async def rows_json(session: AsyncSession, *, key: Key, version: int) -> str:
    """The rows of a filed version, as the comparison reads them (read only when amending)."""
    form, scope, month = key
    found = await session.exec(select(PublishedReport.rows_json).where(
        PublishedReport.form == form, PublishedReport.scope == scope, PublishedReport.month == month,
        PublishedReport.version == version))
    return found.one()
