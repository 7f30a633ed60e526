"""Reads and writes of bulk intake jobs and their error lines. Keyword-only, session passed in;
the caller commits. Updates of a running job name its worker, so a worker that lost the job to
another (after falling silent) finds out instead of writing over it."""

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from intake.bulk.models import BulkErrorRecord, BulkJobRecord
from intake.bulk.rows import Problem


def add_job(session: AsyncSession, *, job: BulkJobRecord) -> None:
    session.add(job)


async def get_job(session: AsyncSession, *, job_id: str) -> BulkJobRecord | None:
    return await session.get(BulkJobRecord, job_id)


async def get_job_by_key(session: AsyncSession, *, idempotency_key: str) -> BulkJobRecord | None:
    found = await session.exec(select(BulkJobRecord).where(BulkJobRecord.idempotency_key == idempotency_key))
    return found.first()


async def claim_job(session: AsyncSession, *, worker: str, now: datetime, stale_before: datetime) -> BulkJobRecord | None:
    """Take the oldest queued job, or a running one whose worker is this one or fell silent.
    The conditional update makes the claim safe when several intake processes share a database."""
    claimable = or_(
        col(BulkJobRecord.state) == "queued",
        (col(BulkJobRecord.state) == "running")
        & or_(
            col(BulkJobRecord.worker) == worker,
            col(BulkJobRecord.worker).is_(None),
            col(BulkJobRecord.heartbeat_at) < stale_before,
        ),
    )
    candidates = await session.exec(
        select(BulkJobRecord.job_id).where(claimable).order_by(col(BulkJobRecord.received_at)).limit(5)
    )
    for job_id in candidates.all():
        claimed = await session.exec(
            update(BulkJobRecord)
            .where(col(BulkJobRecord.job_id) == job_id, claimable)
            .values(state="running", worker=worker, heartbeat_at=now,
                    started_at=func.coalesce(col(BulkJobRecord.started_at), now))
        )
        if claimed.rowcount == 1:
            await session.commit()
            return await session.get(BulkJobRecord, job_id, populate_existing=True)
    await session.rollback()
    return None


async def start_job(session: AsyncSession, *, job_id: str, worker: str, sheet_rows: int, warnings: list[str]) -> bool:
    """What is known once the header is read: the sheet's size and what will be left unread."""
    return await _update_own(
        session, job_id=job_id, worker=worker,
        values={"sheet_rows": sheet_rows, "warnings_json": json.dumps(warnings, ensure_ascii=False)},
    )


async def record_batch(
    session: AsyncSession,
    *,
    job_id: str,
    worker: str,
    last_row: int,
    accepted: int,
    refused: int,
    problems: Sequence[Problem],
    now: datetime,
) -> bool:
    """The outcome of one batch: progress and its error lines, in one transaction."""
    job = BulkJobRecord
    recorded = await _update_own(
        session, job_id=job_id, worker=worker,
        values={
            "last_row": last_row,
            "rows_read": job.rows_read + accepted + refused,
            "accepted": job.accepted + accepted,
            "refused": job.refused + refused,
            "error_lines": job.error_lines + len(problems),
            "heartbeat_at": now,
        },
    )
    if recorded:
        session.add_all(
            BulkErrorRecord(job_id=job_id, row=p.row, column_header=p.column, value=p.value,
                            reason=p.reason, reason_th=p.reason_th)
            for p in problems
        )
    return recorded


async def finish_job(
    session: AsyncSession, *, job_id: str, worker: str, state: str, now: datetime, failure: str | None = None
) -> bool:
    return await _update_own(
        session, job_id=job_id, worker=worker,
        values={"state": state, "failure": failure, "finished_at": now, "heartbeat_at": now},
    )


async def release_job(session: AsyncSession, *, job_id: str, worker: str) -> bool:
    """Let any worker resume the job at once (this one is shutting down)."""
    return await _update_own(session, job_id=job_id, worker=worker, values={"worker": None})


async def error_page(session: AsyncSession, *, job_id: str, after_id: int, limit: int) -> list[BulkErrorRecord]:
    rows = await session.exec(
        select(BulkErrorRecord)
        .where(BulkErrorRecord.job_id == job_id, col(BulkErrorRecord.id) > after_id)
        .order_by(col(BulkErrorRecord.id))
        .limit(limit)
    )
    return list(rows.all())


async def _update_own(session: AsyncSession, *, job_id: str, worker: str, values: dict) -> bool:
    result = await session.exec(
        update(BulkJobRecord)
        .where(
            col(BulkJobRecord.job_id) == job_id,
            col(BulkJobRecord.worker) == worker,
            col(BulkJobRecord.state) == "running",
        )
        .values(**values)
    )
    return result.rowcount == 1
