"""Import a registry file into the reporting database, or list what was imported.

    python -m reporting.registries.cli import --kind tpmap --effective-date 2026-10-01 FILE [--rejects PATH]
    python -m reporting.registries.cli list [--kind informal_labour]

The database is the reporting service's (REPORTING_DATABASE_URL); national IDs are hashed with
the same key the intake uses (SONGTOR_PERSON_REF_KEY), so registry rows meet the referral facts.
Rejected rows are written to FILE.rejects.csv (or --rejects) with row, column and reason; when
more than --max-rejected-share of the rows are rejected, nothing is stored.
Exit status: 0 when the file was imported (rejected rows included), 1 when nothing was stored.
"""

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import TextIO

from reporting.registries.files import RegistryFileError
from reporting.registries.loader import MAX_REJECTED_SHARE, import_registry
from reporting.registries.lookup import registry_imports
from reporting.migrations import SCHEMA
from reporting.registries.models import RegistryKind
from reporting.registry_stamps import restamp_after_import
from reporting.settings import ReportingSettings
from shared.db import make_engine, session_factory
from shared.db.migrations import prepare_schema

EXIT_DONE, EXIT_NOT_IMPORTED = 0, 1
_REASONS_SHOWN = 5


async def run_import(
    *, settings: ReportingSettings, kind: RegistryKind, effective_date: date, path: Path, rejects: Path | None,
    max_rejected_share: float, out: TextIO, err: TextIO,
) -> int:
    rejects = rejects or path.with_name(path.name + ".rejects.csv")
    engine = make_engine(settings.database_url)
    try:
        # A registry may well be loaded before the service first ran: the same schema rules as its start.
        await prepare_schema(engine=engine, schema=SCHEMA, development=settings.privacy.development)
        result = await import_registry(
            engine, kind=kind, effective_date=effective_date, path=path,
            person_ref_key=settings.privacy.person_ref_key, rejects_path=rejects,
            max_rejected_share=max_rejected_share,
        )
        restamped = await restamp_after_import(engine, import_id=result.import_id)
    except RegistryFileError as error:
        print(f"error: nothing imported: {error}", file=err)
        if rejects.exists():
            print(f"rejected rows: {rejects}", file=err)
        return EXIT_NOT_IMPORTED
    finally:
        await engine.dispose()
    rate = result.rows_accepted / result.seconds if result.seconds else 0.0
    print(f"import {result.import_id}: {result.kind} as of {result.effective_date.isoformat()}", file=out)
    print(f"accepted: {result.rows_accepted}  rejected: {result.rows_rejected}  "
          f"in {result.seconds:.1f} s ({rate:,.0f} rows/s)", file=out)
    if restamped:
        print(f"referrals received while it loaded, stamped again: {restamped}", file=out)
    for reason, count in list(result.rejected_by_reason.items())[:_REASONS_SHOWN]:
        print(f"  {count:>9,}  {reason}", file=out)
    if result.rejects_path is not None:
        print(f"rejected rows: {result.rejects_path}", file=out)
    return EXIT_DONE


async def run_list(*, settings: ReportingSettings, kind: RegistryKind | None, out: TextIO) -> int:
    engine = make_engine(settings.database_url)
    try:
        await prepare_schema(engine=engine, schema=SCHEMA, development=settings.privacy.development)
        async with session_factory(engine)() as session:
            imports = await registry_imports(session, kind=kind)
    finally:
        await engine.dispose()
    print(f"{'id':>5}  {'kind':<16}{'as of':<12}{'imported (UTC)':<21}{'accepted':>10}{'rejected':>10}  file", file=out)
    for item in imports:
        print(f"{item.id:>5}  {item.kind:<16}{item.effective_date.isoformat():<12}"
              f"{item.imported_at.strftime('%Y-%m-%d %H:%M:%S'):<21}"
              f"{item.rows_accepted:>10}{item.rows_rejected:>10}  {item.file_name}", file=out)
    return EXIT_DONE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reporting.registries.cli",
                                     description="TPMAP and informal-labour registry snapshots.")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("import", help="import a registry CSV as a snapshot as of a date")
    load.add_argument("--kind", required=True, choices=[k.value for k in RegistryKind])
    load.add_argument("--effective-date", required=True, type=date.fromisoformat,
                      help="the registry's own as-of date, YYYY-MM-DD in the Christian Era")
    load.add_argument("--rejects", type=Path, help="where to write rejected rows (default FILE.rejects.csv)")
    load.add_argument("--max-rejected-share", type=float, default=MAX_REJECTED_SHARE, metavar="SHARE",
                      help="store nothing when more than this share of rows is rejected (default %(default)s)")
    load.add_argument("file", type=Path, help="CSV UTF-8: national ID, household id, province, district")
    listing = commands.add_parser("list", help="list imported snapshots, latest as-of date first")
    listing.add_argument("--kind", choices=[k.value for k in RegistryKind])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = ReportingSettings()
    if args.command == "list":
        kind = RegistryKind(args.kind) if args.kind else None
        return asyncio.run(run_list(settings=settings, kind=kind, out=sys.stdout))
    if not args.file.is_file():
        print(f"error: no such file: {args.file}", file=sys.stderr)
        return EXIT_NOT_IMPORTED
    return asyncio.run(run_import(settings=settings, kind=RegistryKind(args.kind), effective_date=args.effective_date,
                                  path=args.file, rejects=args.rejects, max_rejected_share=args.max_rejected_share,
                                  out=sys.stdout, err=sys.stderr))


if __name__ == "__main__":
    sys.exit(main())
