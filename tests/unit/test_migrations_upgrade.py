"""A database as the services made it before migrations (tests/fixtures/schemas/<service>-baseline.sql,
frozen from create_all at the branch point), with rows in every table, is stamped at the baseline and
upgraded to head by the migrate command, and keeps every row. One whose tables are not the baseline's
is refused, untouched, with what differs. Every schema change adds its own case here: the schema before
it, with rows, upgraded (docs/operations.md#schema-migrations)."""

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Boolean, Date, DateTime, Float, Integer, LargeBinary, Numeric, String, Table, TypeDecorator
from sqlalchemy import create_engine, insert, inspect, select, text

from shared.db.migrate import main as migrate
from shared.db.migrations import _scripts
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


def fill_every_table(*, service: str, url: str) -> dict[str, list[tuple]]:
    """ROWS_PER_TABLE rows in each of the service's tables the database has (an older schema lacks
    the newer ones); the rows as read back."""
    engine = create_engine(url)
    with engine.begin() as connection:
        present = set(inspect(connection).get_table_names())
        for table in (t for t in schema_of(service).metadata.sorted_tables if t.name in present):
            rows = [{name: _value(table=table, column_name=name, number=number) for name in table.c.keys()}
                    for number in range(1, ROWS_PER_TABLE + 1)]
            connection.execute(insert(table), rows)
    rows = read_every_table(service=service, engine=engine, only=present)
    engine.dispose()
    return rows


def read_every_table(*, service: str, engine, only: set[str] | None = None) -> dict[str, list[tuple]]:  # noqa: ANN001
    with engine.connect() as connection:
        return {table.name: sorted(tuple(row) for row in connection.execute(select(table)))
                for table in schema_of(service).metadata.sorted_tables if only is None or table.name in only}


@pytest.mark.parametrize("service", sorted(SCHEMA_PACKAGES))
def test_a_database_made_before_migrations_is_stamped_upgraded_and_keeps_every_row(service, tmp_path, capsys):
    url = made_before_migrations(service=service, path=tmp_path / f"{service}.db")
    before = fill_every_table(service=service, url=url)

    assert migrate(["--service", service, "--database-url", url, "upgrade"]) == 0
    assert f"{service}: upgraded from tables made before migrations to" in capsys.readouterr().out

    engine = create_engine(url)
    after = read_every_table(service=service, engine=engine)
    assert {name: rows for name, rows in after.items() if name in before} == before
    assert all(len(rows) == ROWS_PER_TABLE for rows in before.values())
    assert all(rows == [] for name, rows in after.items() if name not in before)  # made since the baseline
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
    before = fill_every_table(service=service, url=url)
    assert "background_leases" not in before and all(len(rows) == ROWS_PER_TABLE for rows in before.values())

    assert migrate(["--service", service, "--database-url", url, "upgrade"]) == 0
    assert f"{service}: upgraded from 0001 to" in capsys.readouterr().out

    engine = create_engine(url)
    after = read_every_table(service=service, engine=engine)
    assert {name: rows for name, rows in after.items() if name in before} == before
    assert after["background_leases"] == []
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
