"""Each service's migrations make exactly the tables its models declare: upgraded from empty, a
database is what create_all makes, to the index and the server default. A model changed without its
migration fails here (docs/operations.md#schema-migrations)."""

import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine
from sqlmodel import SQLModel

from shared.db.migrate import main as migrate
from shared.db.migrations import _scripts, differences, new_revision, upgrade
from shared.db.schema import SCHEMA_PACKAGES, schema_of

SERVICES = sorted(SCHEMA_PACKAGES)


def _definitions(path: Path) -> set[str]:
    """The statements SQLite keeps for each table and index, as it would print them back."""
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name != 'alembic_version'")
        return {" ".join(row[0].split()) for row in rows}


@pytest.mark.parametrize("service", SERVICES)
def test_upgrading_an_empty_database_makes_what_the_models_declare(service, tmp_path, capsys):
    schema = schema_of(service)
    migrated, created = tmp_path / "migrated.db", tmp_path / "created.db"
    assert migrate(["--service", service, "--database-url", f"sqlite:///{migrated}", "upgrade"]) == 0
    engine = create_engine(f"sqlite:///{created}")
    SQLModel.metadata.create_all(engine, tables=list(schema.tables))
    engine.dispose()

    assert _definitions(migrated) == _definitions(created)
    engine = create_engine(f"sqlite:///{migrated}")
    with engine.connect() as connection:
        assert differences(connection, schema=schema) == []
    engine.dispose()
    assert migrate(["--service", service, "--database-url", f"sqlite:///{migrated}", "check"]) == 0
    assert "as the models say" in capsys.readouterr().out


@pytest.mark.parametrize("service", SERVICES)
def test_each_history_is_one_line_from_its_baseline(service):
    scripts = _scripts(schema_of(service))
    assert len(scripts.get_heads()) == 1, "two heads: merge them, or renumber the newer revision"
    assert scripts.get_base() == "0001"


def test_check_and_current_say_a_database_is_behind(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/routing.db"
    assert migrate(["--service", "routing", "--database-url", url, "current"]) == 1
    assert migrate(["--service", "routing", "--database-url", url, "check"]) == 1
    assert "run `python -m shared.db.migrate --service routing upgrade`" in capsys.readouterr().out
    assert migrate(["--service", "routing", "--database-url", url, "upgrade"]) == 0
    assert migrate(["--service", "routing", "--database-url", url, "current"]) == 0
    head = _scripts(schema_of("routing")).get_current_head()
    assert f"revision {head}, code head {head}" in capsys.readouterr().out


def test_revision_writes_the_next_migration_from_the_models(tmp_path):
    """`migrate revision`: a table added to the models comes out as the next numbered revision, which
    then makes the database what the models declare."""
    routing = schema_of("routing")
    versions = tmp_path / "versions"
    shutil.copytree(routing.versions, versions)
    note = Table("routing_notes", MetaData(), Column("referral_id", String(36), primary_key=True),
                 Column("note", String(500), nullable=False, server_default="none"))
    changed = replace(routing, tables=(*routing.tables, note), versions=versions)

    written = new_revision(schema=changed, message="add routing_notes")
    number = len(list(_scripts(routing).walk_revisions())) + 1
    assert written.name == f"{number:04d}_add_routing_notes.py"
    assert "op.create_table('routing_notes'" in written.read_text(encoding="utf-8")
    engine = create_engine(f"sqlite:///{tmp_path}/routing.db")
    with engine.begin() as connection:
        upgrade(connection, schema=changed)
        assert differences(connection, schema=changed) == []
    engine.dispose()
