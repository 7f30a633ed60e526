"""Schema migrations with Alembic: one history per service (services/<service>/migrations/versions),
run through one environment (shared/db/alembic/env.py) on a connection this module hands it.

Every function here works on a synchronous Connection, so the same steps serve the migrate
command and a service's start-up (an AsyncConnection's run_sync). The migrations of a database
run in one transaction that other processes of the service wait for (several replicas may start
on a new database together): PostgreSQL takes an advisory lock, SQLite's BEGIN IMMEDIATE takes
the write lock, and on both the DDL is undone with the rest if a step fails.

A database made before migrations (by create_all) has the tables but no alembic_version: when its
tables and columns are the baseline's it is stamped at the baseline, then upgraded like any other.
"""

import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

from shared.db.schema import ServiceSchema

ENVIRONMENT = Path(__file__).with_name("alembic")
VERSION_TABLE = "alembic_version"
# Any fixed number: the lock only keeps one service's processes from migrating its database together.
_ADVISORY_LOCK = 0x50_6E67_746F_72  # "Songtor"

Shape = dict[str, frozenset[str]]


class SchemaError(RuntimeError):
    """The database cannot be used at, or brought to, the code's schema; the message says why and
    which command to run."""


@dataclass(frozen=True)
class SchemaState:
    revision: str | None  # what alembic_version holds; None when the table is absent or empty
    head: str  # the newest revision of the code
    known: bool  # the revision is one of the code's (not one written by newer code)
    tables: frozenset[str]  # the database's tables, alembic_version aside

    @property
    def at_head(self) -> bool:
        return self.revision == self.head

    @property
    def empty(self) -> bool:
        return self.revision is None and not self.tables


def alembic_config(*, schema: ServiceSchema, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ENVIRONMENT))
    config.set_main_option("version_locations", str(schema.versions))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes.update(schema=schema, connection=connection)
    return config


def run_environment(context: Any) -> None:  # noqa: ANN401 (alembic.context is a proxy module)
    """The body of env.py: migrate the connection the caller opened, in the caller's transaction."""
    config = context.config
    schema: ServiceSchema = config.attributes["schema"]
    connection: Connection | None = config.attributes.get("connection")
    if connection is None:
        raise SchemaError("run migrations through `python -m shared.db.migrate`, not the alembic command")
    # Batch operations: SQLite alters a table by copying it; on PostgreSQL they are plain ALTERs.
    # A revision written on SQLite (`migrate revision`) thus runs on both.
    context.configure(connection=connection, target_metadata=schema.metadata, render_as_batch=True,
                      compare_type=True, compare_server_default=True, render_item=_render_plain_type)
    with context.begin_transaction():
        context.run_migrations()


def _render_plain_type(kind: str, item: Any, _autogen: Any) -> str | bool:  # noqa: ANN401
    """SQLModel's column types written as the SQLAlchemy types they stand for: a migration is frozen
    once shipped, and must not change meaning when sqlmodel changes its own types."""
    if kind == "type" and isinstance(item, AutoString):
        return f"sa.String(length={item.impl.length})" if item.impl.length else "sa.String()"
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _scripts(schema: ServiceSchema) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(schema=schema))


def read_state(connection: Connection, *, schema: ServiceSchema) -> SchemaState:
    scripts = _scripts(schema)
    revision = MigrationContext.configure(connection).get_current_revision()
    try:
        known = revision is None or scripts.get_revision(revision) is not None
    except CommandError:
        known = False
    tables = frozenset(inspect(connection).get_table_names()) - {VERSION_TABLE}
    return SchemaState(revision=revision, head=scripts.get_current_head(), known=known, tables=tables)


def upgrade(connection: Connection, *, schema: ServiceSchema) -> SchemaState:
    """Bring the database to the code's head (stamping a create_all database at the baseline first);
    the state it was found in."""
    _hold_migration_lock(connection)
    state = read_state(connection, schema=schema)  # again under the lock: another process may have migrated
    if not state.known:
        raise SchemaError(ahead_message(schema=schema, state=state))
    if state.revision is None and state.tables:
        _adopt(connection, schema=schema)
    command.upgrade(alembic_config(schema=schema, connection=connection), "head")
    return state


def ensure_schema(connection: Connection, *, schema: ServiceSchema, development: bool) -> None:
    """At a service's start: a new database is upgraded in every environment (nothing in it to
    lose); one behind the code is upgraded only in development (local, test), and refused elsewhere,
    where an upgrade is a step of its own (backed up, watched): the message names the command."""
    state = read_state(connection, schema=schema)
    if state.at_head:
        return
    if not state.known:
        raise SchemaError(ahead_message(schema=schema, state=state))
    if state.empty or development:
        upgrade(connection, schema=schema)
        return
    raise SchemaError(behind_message(schema=schema, state=state))


async def prepare_schema(*, engine: AsyncEngine, schema: ServiceSchema, development: bool) -> None:
    """ensure_schema on a service's own engine, before anything else uses its database."""
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: ensure_schema(sync, schema=schema, development=development))


async def upgrade_database(*, engine: AsyncEngine, schema: ServiceSchema) -> SchemaState:
    """upgrade on an engine (a database a command makes, e.g. reporting.rebuild's new one)."""
    async with engine.begin() as connection:
        return await connection.run_sync(lambda sync: upgrade(sync, schema=schema))


def behind_message(*, schema: ServiceSchema, state: SchemaState) -> str:
    found = state.revision or "none (its tables were made before migrations)"
    return (f"The {schema.service} database is behind this code: its schema revision is {found}, the code needs "
            f"{state.head}. Run `{schema.upgrade_command()}` with {schema.env_prefix}DATABASE_URL set as this "
            "service has it (on a development machine: `make migrate`), then start the service again "
            "(docs/operations.md#schema-migrations).")


def ahead_message(*, schema: ServiceSchema, state: SchemaState) -> str:
    return (f"The {schema.service} database is at schema revision {state.revision}, which this code does not know "
            f"(its newest is {state.head}): a newer version of {schema.service} has upgraded it. Run that version, "
            "or restore the database's backup from before the upgrade.")


def differences(connection: Connection, *, schema: ServiceSchema) -> list[Any]:
    """What would have to change in the database for it to be exactly the models' tables (empty
    when they agree): alembic's autogenerate comparison, types and server defaults included."""
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
    return compare_metadata(context, schema.metadata)


def new_revision(*, schema: ServiceSchema, message: str) -> Path:
    """Write the next revision of the service: what the models have that the migrations do not make
    yet, found by upgrading a scratch SQLite database to head and comparing it with the models.
    Read the file it writes before committing it (a renamed column comes out as a drop and an add)."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{scratch}/scratch.db")
        try:
            with engine.begin() as connection:
                config = alembic_config(schema=schema, connection=connection)
                command.upgrade(config, "head")
                number = len(list(_scripts(schema).walk_revisions())) + 1
                written = command.revision(config, message=message, autogenerate=True, rev_id=f"{number:04d}")
        finally:
            engine.dispose()
    return Path(written.path)  # type: ignore[union-attr]


def _hold_migration_lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
    elif connection.dialect.name == "sqlite" and not connection.connection.driver_connection.in_transaction:
        # Python's sqlite3 begins a transaction only before a DML statement: without this, each DDL
        # statement would commit alone, and a second process could find half a schema.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _adopt(connection: Connection, *, schema: ServiceSchema) -> None:
    """Stamp a database made by create_all at the baseline, when it is the baseline's tables."""
    found, expected = _shape(connection), baseline_shape(schema)
    if found != expected:
        raise SchemaError(
            f"The {schema.service} database has tables but no schema revision (made before migrations), and they "
            f"are not the baseline's, so it cannot be stamped: {_shape_differences(found=found, expected=expected)}. "
            "It was made by a version older than the baseline: rebuild it (reporting: `python -m reporting.rebuild`), "
            "or, for a development database, delete it. (docs/operations.md#schema-migrations)")
    command.stamp(alembic_config(schema=schema, connection=connection), _scripts(schema).get_base())


@cache
def baseline_shape(schema: ServiceSchema) -> Shape:
    """The tables and columns the baseline revision makes (on a scratch in-memory SQLite database).
    Names only: a type or an index made differently by create_all is not told apart."""
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(schema=schema, connection=connection), _scripts(schema).get_base())
            return _shape(connection)
    finally:
        engine.dispose()


def _shape(connection: Connection) -> Shape:
    inspector = inspect(connection)
    return {name: frozenset(column["name"] for column in inspector.get_columns(name))
            for name in inspector.get_table_names() if name != VERSION_TABLE}


def _shape_differences(*, found: Shape, expected: Shape) -> str:
    notes = [f"table {name} is missing" for name in sorted(expected.keys() - found.keys())]
    notes += [f"table {name} is not the service's" for name in sorted(found.keys() - expected.keys())]
    for name in sorted(expected.keys() & found.keys()):
        if missing := sorted(expected[name] - found[name]):
            notes.append(f"{name} lacks {', '.join(missing)}")
        if extra := sorted(found[name] - expected[name]):
            notes.append(f"{name} has {', '.join(extra)}, which the baseline does not")
    return "; ".join(notes)
