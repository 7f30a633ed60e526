"""A rebuild copies the filed form versions from the live database (reporting.rebuild_copy), on
SQLite and PostgreSQL: who closed each version comes along, and a live database made before
published_reports.closed_by existed (there are no migrations yet) still copies, its versions
taking the column's default."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlmodel import select

from reporting.closing.models import PublishedReport
from reporting.models import TABLES
from reporting.rebuild_copy import copy_tables
from shared.db import create_tables, make_engine, session_factory

pytestmark = pytest.mark.integration


def version(scope: str, **extra: str) -> PublishedReport:
    return PublishedReport(form="sp12", scope=scope, month="2026-09", version=1, kind="original",
                           due_date=date(2026, 9, 25), closed_at=datetime(2026, 9, 25, 1, tzinfo=UTC), on_time=True,
                           people=1, content_sha256="0" * 64, rows_json="{}", csv=b"a", xlsx=b"b", **extra)


async def closers(engine) -> list[tuple[str, str]]:  # noqa: ANN001
    async with session_factory(engine)() as session:
        return sorted((r.scope, r.closed_by) for r in (await session.exec(select(PublishedReport))).all())


@pytest.mark.parametrize("before_the_column", [False, True])
async def test_filed_versions_are_copied_with_who_closed_them(database_url, before_the_column):
    live, rebuilt = make_engine(database_url("reporting-live")), make_engine(database_url("reporting-rebuilt"))
    try:
        await create_tables(live, TABLES)
        await create_tables(rebuilt, TABLES)
        async with session_factory(live)() as session:
            session.add_all([version("6406", closed_by="subject-of-province-64"), version("2401")])
            await session.commit()
        if before_the_column:
            async with live.begin() as connection:
                await connection.execute(text("ALTER TABLE published_reports DROP COLUMN closed_by"))
        copied = await copy_tables(source=live, target=rebuilt)
        assert copied["published_reports"] == 2
        expected = [("2401", "system"), ("6406", "system" if before_the_column else "subject-of-province-64")]
        assert await closers(rebuilt) == expected
    finally:
        await live.dispose()
        await rebuilt.dispose()
