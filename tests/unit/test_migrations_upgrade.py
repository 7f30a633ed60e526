"""A database as the services made it before migrations (tests/fixtures/schemas/<service>-baseline.sql,
frozen from create_all at the branch point), with rows in every table, is stamped at the baseline and
upgraded to head by the migrate command, and keeps every row. One whose tables are not the baseline's
is refused, untouched, with what differs. Every schema change adds its own case here: the schema before
it, with rows, upgraded (docs/operations.md#schema-migrations)."""

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Boolean, Column, Date, DateTime, Float, Integer, LargeBinary, MetaData, Numeric, String, Table
from sqlalchemy import TypeDecorator, create_engine, insert, inspect, select, text

from shared.db.migrate import main as migrate
from shared.db.migrations import _scripts, alembic_config
from shared.db.schema import SCHEMA_PACKAGES, schema_of

FIXTURES = Path(__file__).parents[1] / "fixtures" / "schemas"
ROWS_PER_TABLE = 2


def made_before_migrations(*, service: str, path: Path) -> str:
    """A SQLite file holding the frozen pre-migrations schema of `service`; its URL."""
    return made_at(service=service, frozen="baseline", path=path)


def made_at(*, service: str, frozen: str, path: Path) -> str:
    """A SQLite file holding the frozen schema tests/fixtures/schemas/<service>-<frozen>.sql; its URL."""
    with sqlite3.connect(path) as connection:
        connection.executescript((FIXTURES / f"{service}-{frozen}.sql").read_text(encoding="utf-8"))
    return f"sqlite:///{path}"


def head_of(service: str) -> str:
    return _scripts(schema_of(service)).get_current_head()


def _value(*, table: Table, column_name: str, number: int) -> object:
    column = table.c[column_name]
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    if isinstance(kind, Boolean):
        return number % 2 == 0
    if isinstance(kind, Integer):
        return number
    if isinstance(kind, DateTime):
        return datetime(2026, 1, number, 3, 4, 5, tzinfo=UTC)
    if isinstance(kind, Date):
        return date(2026, 1, number)
    if isinstance(kind, (Float, Numeric)):
        return number + 0.5
    if isinstance(kind, LargeBinary):
        return bytes([number]) * 3
    if isinstance(kind, String):
        return f"{number}-{column_name}"[: kind.length or 100]
    raise AssertionError(f"no sample value for {table.name}.{column_name} ({column.type!r}): add one here")


def migrated_to(*, service: str, revision: str, path: Path) -> str:
    """A SQLite file at `revision` of the service's history (the schema before a change); its URL."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(schema=schema_of(service), connection=connection), revision)
    engine.dispose()
    return url


def tables_in(*, service: str, url: str) -> list[Table]:
    """The service's tables as the database holds them: a schema from before a change lacks the
    tables and columns the change adds, which the models already have."""
    engine = create_engine(url)
    inspector = inspect(engine)
    present = {name: {column["name"] for column in inspector.get_columns(name)} for name in inspector.get_table_names()}
    engine.dispose()
    return [Table(table.name, MetaData(), *(Column(c.name, c.type, primary_key=c.primary_key)
                                            for c in table.columns if c.name in present[table.name]))
            for table in schema_of(service).metadata.sorted_tables if table.name in present]


def fill_every_table(*, url: str, tables: list[Table]) -> dict[str, list[tuple]]:
    """ROWS_PER_TABLE rows in each of `tables`; the rows as read back."""
    engine = create_engine(url)
    with engine.begin() as connection:
        for table in tables:
            rows = [{name: _value(table=table, column_name=name, number=number) for name in table.c.keys()}
                    for number in range(1, ROWS_PER_TABLE + 1)]
            connection.execute(insert(table), rows)
    rows = read_every_table(tables=tables, engine=engine)
    engine.dispose()
    return rows


def read_every_table(*, tables: list[Table], engine) -> dict[str, list[tuple]]:  # noqa: ANN001
    with engine.connect() as connection:
        return {table.name: sorted(tuple(row) for row in connection.execute(select(table))) for table in tables}


@pytest.mark.parametrize("service", sorted(SCHEMA_PACKAGES))
def test_a_database_made_before_migrations_is_stamped_upgraded_and_keeps_every_row(service, tmp_path, capsys):
    url = made_before_migrations(service=service, path=tmp_path / f"{service}.db")
    tables = tables_in(service=service, url=url)
    before = fill_every_table(url=url, tables=tables)

    assert migrate(["--service", service, "--database-url", url, "upgrade"]) == 0
    assert f"{service}: upgraded from tables made before migrations to" in capsys.readouterr().out

    engine = create_engine(url)
    assert read_every_table(tables=tables, engine=engine) == before
    assert all(len(rows) == ROWS_PER_TABLE for rows in before.values())
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_of(service)]
    engine.dispose()
    assert migrate(["--service", service, "--database-url", url, "check"]) == 0
    assert migrate(["--service", service, "--database-url", url, "upgrade"]) == 0  # again: nothing to do
    assert f"already at {head_of(service)}" in capsys.readouterr().out


@pytest.mark.parametrize("service", sorted(SCHEMA_PACKAGES))
def test_background_leases_are_added_to_a_database_at_the_baseline_and_every_row_is_kept(service, tmp_path, capsys):
    """0002_background_leases: a database at 0001 (as the migrations made it), with rows in every
    table, gains the empty lease table, and keeps every row."""
    url = made_at(service=service, frozen="0001", path=tmp_path / f"{service}.db")
    tables = tables_in(service=service, url=url)
    before = fill_every_table(url=url, tables=tables)
    assert "background_leases" not in before and all(len(rows) == ROWS_PER_TABLE for rows in before.values())

    assert migrate(["--service", service, "--database-url", url, "upgrade"]) == 0
    assert f"{service}: upgraded from 0001 to" in capsys.readouterr().out

    engine = create_engine(url)
    assert read_every_table(tables=tables, engine=engine) == before
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM background_leases")).scalar_one() == 0
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        columns = {column["name"] for column in inspect(connection).get_columns("background_leases")}
    engine.dispose()
    assert versions == [head_of(service)]
    assert columns == {"name", "holder", "expires_at", "renewed_at"}
    assert migrate(["--service", service, "--database-url", url, "check"]) == 0


def test_a_database_older_than_the_baseline_is_refused_and_left_as_it_was(tmp_path, capsys):
    path = tmp_path / "agency-adapters.db"
    url = made_before_migrations(service="agency-adapters", path=path)
    with sqlite3.connect(path) as connection:
        # As a local file made before the outbox's retry columns (shared/db/outbox.py).
        connection.executescript("DROP INDEX ix_outbox_pending; DROP INDEX ix_outbox_pending_key;"
                                 "ALTER TABLE outbox_messages DROP COLUMN next_attempt_at;")

    assert migrate(["--service", "agency-adapters", "--database-url", url, "upgrade"]) == 2
    error = capsys.readouterr().err
    assert "not the baseline's, so it cannot be stamped: outbox_messages lacks next_attempt_at" in error
    with sqlite3.connect(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "alembic_version" not in tables


def test_intake_open_need_claims_come_in_empty_and_every_row_is_kept(tmp_path, capsys):
    """0003_open_need_claims: a new table, not filled from the open referrals (a need without a
    claim is claimed by the intake that next opens it)."""
    before_revision = _scripts(schema_of("intake")).get_revision("0003_open_need_claims").down_revision
    url = migrated_to(service="intake", revision=before_revision, path=tmp_path / "intake.db")
    tables = tables_in(service="intake", url=url)
    assert "intake_open_need_claims" not in {table.name for table in tables}
    before = fill_every_table(url=url, tables=tables)

    assert migrate(["--service", "intake", "--database-url", url, "upgrade"]) == 0
    assert f"to {head_of('intake')}" in capsys.readouterr().out

    engine = create_engine(url)
    assert read_every_table(tables=tables, engine=engine) == before
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM intake_open_need_claims")).scalar_one() == 0
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_of("intake")]
    engine.dispose()
    assert migrate(["--service", "intake", "--database-url", url, "check"]) == 0


def _row(table: Table, number: int, **values: object) -> dict:
    return {**{name: _value(table=table, column_name=name, number=number) for name in table.c.keys()}, **values}


def test_reporting_scope_change_counts_mark_the_versions_unchanged_since_filed_and_keep_every_row(tmp_path, capsys):
    """0003_scope_change_counts: the counts start empty; the newest version of a form is marked as
    built from them (count 0) unless a fact of its scope was written after it was filed, which the
    close then compares once more, as the code before it would have."""
    before_revision = _scripts(schema_of("reporting")).get_revision("0003_scope_change_counts").down_revision
    url = migrated_to(service="reporting", revision=before_revision, path=tmp_path / "reporting.db")
    tables = {table.name: table for table in tables_in(service="reporting", url=url)}
    assert not {"report_scope_changes", "report_close_marks"} & tables.keys()
    fill_every_table(url=url, tables=list(tables.values()))
    filed, written = datetime(2026, 10, 1, 9, tzinfo=UTC), datetime(2026, 10, 2, 9, tzinfo=UTC)
    reports, facts, services = tables["published_reports"], tables["referral_facts"], tables["intake_service_facts"]
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(reports), [
            _row(reports, 1, form="sp12", scope="6406", month="2026-09", version=1, closed_at=filed),
            _row(reports, 2, form="sp12", scope="6406", month="2026-09", version=2, closed_at=filed),
            _row(reports, 1, form="snb2", scope="64", month="2026-09", version=1, closed_at=filed),
            _row(reports, 1, form="sp12", scope="2401", month="2026-09", version=1, closed_at=filed)])
        connection.execute(insert(facts), [
            # Written before sp12/6406's version: unchanged since. After it, in province 64: snb2/64 changed.
            _row(facts, 1, referral_id="r-before", has_intake=True, province_code="24", org_unit="6406",
                 intake_month="2026-09", updated_at=filed - (written - filed)),
            _row(facts, 2, referral_id="r-after", has_intake=True, province_code="64", org_unit="6499",
                 intake_month="2026-09", updated_at=written)])
        connection.execute(insert(services), [_row(services, 1, intake_id="late", org_unit="2401", province_code="24",
                                                   intake_month="2026-09", recorded_at=written)])
    before = read_every_table(tables=list(tables.values()), engine=engine)

    assert migrate(["--service", "reporting", "--database-url", url, "upgrade"]) == 0
    assert f"to {head_of('reporting')}" in capsys.readouterr().out

    assert read_every_table(tables=list(tables.values()), engine=engine) == before
    with engine.connect() as connection:
        marks = connection.execute(text("SELECT form, scope, month, version, changes FROM report_close_marks")).all()
        assert connection.execute(text("SELECT count(*) FROM report_scope_changes")).scalar_one() == 0
    engine.dispose()
    mine = sorted(tuple(mark) for mark in marks if mark[0] in ("sp12", "snb2"))
    assert mine == [("sp12", "6406", "2026-09", 2, 0)], "only the newest version, of a scope unchanged since filed"
    assert len(marks) == len(mine) + ROWS_PER_TABLE, "the other filled versions: no fact of theirs, unchanged"
    assert migrate(["--service", "reporting", "--database-url", url, "check"]) == 0
