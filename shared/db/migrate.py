"""The migrate command: one service's database, brought to or checked against the code's schema.

    python -m shared.db.migrate --service intake upgrade      # to head (stamps a create_all database first)
    python -m shared.db.migrate --service intake check        # exit 1 unless at head and equal to the models
    python -m shared.db.migrate --service intake current      # its revision and the code's head
    python -m shared.db.migrate --service intake revision -m "add referral_statuses.note"   # a new migration

The database is the service's own: <PREFIX>DATABASE_URL (INTAKE_, ROUTING_, AGENCY_, REPORTING_) or
its default, or --database-url. `revision` needs no database: it compares the models with a scratch
SQLite database upgraded to head and writes services/<service>/migrations/versions/NNNN_<message>.py.
"""

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import Any, TextIO

from sqlalchemy import Connection

from shared.db.engine import make_engine
from shared.db.migrations import SchemaError, differences, new_revision, read_state, upgrade
from shared.db.schema import SCHEMA_PACKAGES, ServiceSchema, schema_of

EXIT_DONE, EXIT_BEHIND, EXIT_REFUSED = 0, 1, 2


async def _on_database(url: str, step: Callable[[Connection], Any]) -> Any:  # noqa: ANN401
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(step)
    finally:
        await engine.dispose()


def run_upgrade(*, schema: ServiceSchema, url: str, out: TextIO) -> int:
    before = asyncio.run(_on_database(url, lambda connection: upgrade(connection, schema=schema)))
    if before.at_head:
        print(f"{schema.service}: already at {before.head}", file=out)
    else:
        found = before.revision or ("an empty database" if before.empty else "tables made before migrations")
        print(f"{schema.service}: upgraded from {found} to {before.head}", file=out)
    return EXIT_DONE


def run_check(*, schema: ServiceSchema, url: str, out: TextIO) -> int:
    def inspect_database(connection: Connection) -> tuple[Any, list[Any]]:
        state = read_state(connection, schema=schema)
        return state, differences(connection, schema=schema) if state.at_head else []

    state, changes = asyncio.run(_on_database(url, inspect_database))
    if not state.at_head:
        print(f"{schema.service}: at {state.revision or 'no revision'}, the code needs {state.head}: "
              f"run `{schema.upgrade_command()}`", file=out)
        return EXIT_BEHIND
    for change in changes:
        print(f"{schema.service}: differs from the models: {change}", file=out)
    if not changes:
        print(f"{schema.service}: at {state.head}, as the models say", file=out)
    return EXIT_BEHIND if changes else EXIT_DONE


def run_current(*, schema: ServiceSchema, url: str, out: TextIO) -> int:
    state = asyncio.run(_on_database(url, lambda connection: read_state(connection, schema=schema)))
    print(f"{schema.service}: revision {state.revision or 'none'}, code head {state.head}"
          f"{'' if state.known else ' (a revision this code does not know)'}", file=out)
    return EXIT_DONE if state.at_head else EXIT_BEHIND


def main(argv: list[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr  # looked up now: a test may have replaced them
    parser = argparse.ArgumentParser(prog="python -m shared.db.migrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--service", required=True, choices=sorted(SCHEMA_PACKAGES))
    parser.add_argument("--database-url", help="instead of the service's <PREFIX>DATABASE_URL")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("upgrade", help="bring the database to the code's schema")
    actions.add_parser("check", help="exit 1 unless the database is at head and equal to the models")
    actions.add_parser("current", help="the database's revision and the code's head")
    revision = actions.add_parser("revision", help="write the next migration from the models (autogenerate)")
    revision.add_argument("-m", "--message", required=True, help="what the change is, e.g. 'add intakes.note'")
    args = parser.parse_args(argv)
    schema = schema_of(args.service)
    if args.action == "revision":
        print(f"written: {new_revision(schema=schema, message=args.message)} (read it before committing it)", file=out)
        return EXIT_DONE
    url = args.database_url or schema.configured_url()
    step = {"upgrade": run_upgrade, "check": run_check, "current": run_current}[args.action]
    try:
        return step(schema=schema, url=url, out=out)
    except SchemaError as error:
        print(f"error: {error}", file=err)
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
