"""Intake's retention rules (docs/retention.md): a sheet's error report and its job once the job
has long ended, any uploaded sheet left behind, the stored answers to Idempotency-Keys, and the
person in the stored intake once every referral of it has long been closed."""

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Boolean, String, exists, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from intake.bulk.models import BulkErrorRecord, BulkJobRecord
from intake.models import IdempotencyRecord, IntakeRecord, ReferralStatusRecord
from intake.settings import IntakeSettings
from shared.db.retention import Purge, RetentionRule
from shared.retention.rules import CLOSED_STATUSES, days

logger = logging.getLogger("songtor.retention")

_FINISHED = ("done", "failed")
_UNFINISHED = ("queued", "running")


class person_present(FunctionElement):  # noqa: N801 - a SQL function of our own, compiled per dialect
    """person_present(event_json): the stored intake still holds its person, i.e. the event's
    `person` member is there and not JSON null. What it holds (clear fields, or a sealed blob)
    is not looked into."""

    type = Boolean()
    inherit_cache = True
    name = "person_present"


class person_removed(FunctionElement):  # noqa: N801
    """person_removed(event_json): the stored event with its `person` member set to JSON null,
    every other member as it was."""

    type = String()
    inherit_cache = True
    name = "person_removed"


@compiles(person_present, "sqlite")
def _present_sqlite(element: person_present, compiler, **kw) -> str:  # noqa: ANN001
    return f"(json_extract({compiler.process(element.clauses, **kw)}, '$.person') IS NOT NULL)"


@compiles(person_present, "postgresql")
def _present_postgresql(element: person_present, compiler, **kw) -> str:  # noqa: ANN001
    return f"(jsonb_typeof(CAST({compiler.process(element.clauses, **kw)} AS JSONB) -> 'person') <> 'null')"


@compiles(person_removed, "sqlite")
def _removed_sqlite(element: person_removed, compiler, **kw) -> str:  # noqa: ANN001
    return f"json_set({compiler.process(element.clauses, **kw)}, '$.person', NULL)"  # SQL NULL sets JSON null


@compiles(person_removed, "postgresql")
def _removed_postgresql(element: person_removed, compiler, **kw) -> str:  # noqa: ANN001
    column = compiler.process(element.clauses, **kw)
    return f"CAST(jsonb_set(CAST({column} AS JSONB), '{{person}}', 'null'::jsonb) AS TEXT)"


class UploadSweep:
    """Uploaded sheets are deleted when their job ends (worker.py); one left behind (a process
    killed between the job's end and the deletion, an upload cut off before its job was stored)
    is deleted once it is older than the period and no queued or running job needs it."""

    name = "intake.bulk_uploads"

    def __init__(self, *, upload_dir: Path, max_age: timedelta) -> None:
        self._dir, self._max_age = upload_dir, max_age

    async def purge(self, engine: AsyncEngine, *, now: datetime, chunk_rows: int) -> int:
        cutoff = (now - self._max_age).timestamp()
        old = await asyncio.to_thread(self._older_than, cutoff)
        if not old:
            return 0
        jobs = BulkJobRecord.__table__
        async with engine.connect() as connection:
            needed = set((await connection.execute(
                select(jobs.c.job_id).where(jobs.c.job_id.in_(sorted({p.name.split(".")[0] for p in old})),
                                            jobs.c.state.in_(_UNFINISHED)))).scalars())
        gone = [path for path in old if path.name.split(".")[0] not in needed]
        await asyncio.to_thread(lambda: [path.unlink(missing_ok=True) for path in gone])
        return len(gone)

    def _older_than(self, cutoff: float) -> list[Path]:
        if not self._dir.is_dir():
            return []
        return [path for path in self._dir.iterdir() if path.is_file() and path.stat().st_mtime < cutoff]


def intake_purges(settings: IntakeSettings) -> list[Purge]:
    retention = settings.retention
    jobs, errors = BulkJobRecord.__table__, BulkErrorRecord.__table__
    intakes, statuses, answers = IntakeRecord.__table__, ReferralStatusRecord.__table__, IdempotencyRecord.__table__
    job_ended = (select(jobs.c.finished_at).where(jobs.c.job_id == errors.c.job_id, jobs.c.state.in_(_FINISHED))
                 .scalar_subquery())
    # An intake is as old as its referrals' last move (or its receipt, when it referred nothing).
    last_move = select(func.max(statuses.c.updated_at)).where(statuses.c.intake_id == intakes.c.intake_id)
    still_open = exists().where(statuses.c.intake_id == intakes.c.intake_id, statuses.c.status.not_in(CLOSED_STATUSES))
    return [
        # The error report quotes what the clerk typed (IDs, names): it goes first, then its job
        # (the name of the uploaded file, a failure that may quote a cell), once it has no lines left.
        RetentionRule(name="intake.bulk_errors", table=errors, age=job_ended, max_age=days(retention.bulk_job_days)),
        RetentionRule(name="intake.bulk_jobs", table=jobs, age=jobs.c.finished_at, max_age=days(retention.bulk_job_days),
                      where=jobs.c.state.in_(_FINISHED) & ~exists().where(errors.c.job_id == jobs.c.job_id)),
        UploadSweep(upload_dir=settings.bulk.upload_dir, max_age=days(retention.bulk_job_days)),
        RetentionRule(name="intake.idempotency", table=answers, age=answers.c.created_at,
                      max_age=days(retention.idempotency_days)),
        # The person goes; the intake stays (ids, org unit, programme, needs, statuses), and its
        # view answers "person": null.
        RetentionRule(name="intake.person", table=intakes,
                      age=func.coalesce(last_move.scalar_subquery(), intakes.c.received_at),
                      where=~still_open & person_present(intakes.c.event_json),
                      max_age=days(retention.closed_referral_days),
                      scrub={"event_json": person_removed(intakes.c.event_json)}),
    ]

