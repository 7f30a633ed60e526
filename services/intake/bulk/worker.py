"""The background worker that runs bulk intake jobs, one at a time, batch by batch.

Each batch: read rows (in a thread: openpyxl and validation are CPU work; the next batch is read
while this one is submitted), submit the valid ones with `submit_many` (the path of the API's
intakes too: one transaction for the batch, with one read of its keys, one of its people's open
referrals and one insert per table, whatever its size), then record the batch's outcome and
error lines in one transaction. A process that dies between the two leaves the batch
unrecorded; the job is resumed from its last recorded row, and the rows submitted again carry
the same Idempotency-Key (`bulk:<job>:<row>`), so `submit_many` replays the stored answers
instead of creating a second intake.
"""

import asyncio
import contextlib
import logging
import os
import socket
import traceback
import uuid
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.exc import InterfaceError, OperationalError

from intake.bulk import repository
from intake.bulk.columns import HeaderMatch, expected_headers, match_headers
from intake.bulk.models import BulkJobRecord, job_submitter, utc_now
from intake.bulk.rows import PreparedRow, Problem, RowDefaults, answer_problems, prepare, sheet_row
from intake.bulk.settings import BulkSettings
from intake.bulk.sheets import Row, SheetError, count_rows, find_header, open_rows
from intake.submission import IntakeDesk, submit_many

logger = logging.getLogger("songtor.intake.bulk")
_MAX_BACKOFF = 60.0
# The database being away is nobody's mistake in the sheet: wait and resume, do not fail the job.
_UNAVAILABLE = (OperationalError, InterfaceError, ConnectionError)


class LostJob(Exception):
    """Another worker took the job over (this one was silent too long)."""


@dataclass(frozen=True, slots=True)
class Batch:
    prepared: list[PreparedRow]
    last_row: int  # the last sheet row read, blank ones included


class BulkWorker:
    def __init__(self, *, desk: IntakeDesk, settings: BulkSettings) -> None:
        self._desk = desk
        self._settings = settings
        self._zone = ZoneInfo(settings.timezone)
        self._wake = asyncio.Event()
        self.worker_id = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def wake(self) -> None:
        """A job was queued here: start it now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Background loop, started with the service."""
        pause = self._settings.poll_seconds
        while True:
            try:
                while (job := await self._claim()) is not None:
                    await self.run_job(job)
                pause = self._settings.poll_seconds
            except LostJob:
                logger.warning("bulk job taken over by another worker")
                continue
            except Exception as error:  # noqa: BLE001 - the loop outlives any one failure
                pause = min(pause * 2, _MAX_BACKOFF)
                logger.warning("bulk intake worker paused (%s); retry in %.0fs", type(error).__name__, pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=pause)
            self._wake.clear()

    async def _claim(self) -> BulkJobRecord | None:
        now = utc_now()
        async with self._desk.sessions() as session:
            return await repository.claim_job(
                session, worker=self.worker_id, now=now,
                stale_before=now - timedelta(seconds=self._settings.lease_seconds),
            )

    async def run_job(self, job: BulkJobRecord) -> None:
        """Run a claimed job to its end; a mistake in the file or a crash fails it with the reason."""
        log = {"extra": {"correlation_id": job.job_id}}
        logger.info("bulk job %s from row %d", "resumed" if job.last_row else "started", job.last_row + 1, **log)
        try:
            state, failure = "done", None
            await self._process(job)
        except SheetError as error:
            state, failure = "failed", str(error)
        except asyncio.CancelledError:
            # Shutting down: let the next start resume it at once instead of after the lease.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._write(repository.release_job, job_id=job.job_id, worker=self.worker_id))
            raise
        except (*_UNAVAILABLE, LostJob):
            raise  # the loop waits and claims the job again (if still its own) from its last recorded row
        except Exception as error:  # noqa: BLE001 - any other crash fails this job, not the worker
            state, failure = "failed", f"The job stopped on an unexpected error: {type(error).__name__}: {error}"[:2000]
            # Where, not what: the message may quote a cell, and cells hold personal data.
            frame = traceback.extract_tb(error.__traceback__)[-1]
            logger.error("bulk job crashed: %s at %s:%s", type(error).__name__, frame.filename, frame.lineno, **log)
        await self._write(repository.finish_job, job_id=job.job_id, worker=self.worker_id,
                          state=state, failure=failure, now=utc_now())
        Path(job.file_path).unlink(missing_ok=True)  # the sheet holds personal data: keep it no longer
        logger.info("bulk job %s", state, **log)

    async def _process(self, job: BulkJobRecord) -> None:
        path, kind = Path(job.file_path), job.file_kind
        if not path.exists():
            raise SheetError("The uploaded file is no longer on the server; upload it again.")
        sheet_rows = job.sheet_rows or await asyncio.to_thread(count_rows, path, kind)
        with contextlib.ExitStack() as stack:
            rows = await asyncio.to_thread(stack.enter_context, open_rows(path, kind))  # type: ignore[arg-type]
            header, data = await asyncio.to_thread(find_header, rows, fits=lambda cells: match_headers(cells).usable)
            match = match_headers(header.cells)
            if job.sheet_rows is None:
                await self._write(repository.start_job, job_id=job.job_id, worker=self.worker_id,
                                  sheet_rows=sheet_rows, warnings=_warnings(match, header.number))
            if not match.usable:
                raise SheetError(" ".join(match.problems) + " " + expected_headers())
            defaults = RowDefaults(consent_recorded_at=job.received_at.astimezone(self._zone), zone=self._zone,
                                   submitter=job_submitter(job))

            def read_after(row: int) -> Awaitable[Batch | None]:
                return asyncio.to_thread(self._next_batch, data, after=row, match=match, defaults=defaults,
                                         job_id=job.job_id)

            batch = await read_after(job.last_row)
            while batch is not None:
                # The next batch is read and checked in a thread while this one is submitted, so
                # the sheet's CPU work overlaps the database's round trips.
                reading = asyncio.ensure_future(read_after(batch.last_row))
                try:
                    await self._submit(job, batch, match)
                except BaseException:
                    await asyncio.wait([reading])  # its thread reads the file: done before the file is closed
                    raise
                job.last_row = batch.last_row
                batch = await reading

    def _next_batch(
        self, data: Iterator[Row], *, after: int, match: HeaderMatch, defaults: RowDefaults, job_id: str
    ) -> Batch | None:
        prepared: list[PreparedRow] = []
        last_row = None
        for number, values in data:
            if number <= after:
                continue  # recorded before a restart
            last_row = number
            if (row := sheet_row(number, values, match=match)) is not None:
                prepared.append(prepare(row, match=match, defaults=defaults, job_id=job_id))
                if len(prepared) >= self._settings.batch_size:
                    break
        return None if last_row is None else Batch(prepared, last_row)

    async def _submit(self, job: BulkJobRecord, batch: Batch, match: HeaderMatch) -> None:
        valid = [p for p in batch.prepared if p.submission is not None]
        answers = await submit_many(self._desk, [p.submission for p in valid]) if valid else []
        problems: list[Problem] = [problem for p in batch.prepared for problem in p.problems]
        accepted = 0
        for prepared, answer in zip(valid, answers, strict=True):
            if answer.status_code == 202:
                accepted += 1
            else:
                problems.extend(answer_problems(answer, row=prepared.row, match=match))
        problems.sort(key=lambda p: p.row)
        await self._write(
            repository.record_batch, job_id=job.job_id, worker=self.worker_id, last_row=batch.last_row,
            accepted=accepted, refused=len(batch.prepared) - accepted, problems=problems, now=utc_now(),
        )

    async def _write(self, change, **arguments) -> None:  # noqa: ANN001, ANN003
        async with self._desk.sessions() as session:
            if not await change(session, **arguments):
                raise LostJob
            await session.commit()


def _warnings(match: HeaderMatch, header_row: int) -> list[str]:
    warnings = []
    if match.unknown:
        warnings.append("Columns not used (not part of the intake form): " + ", ".join(match.unknown))
    if header_row != 1:
        warnings.append(f"The header is row {header_row}; the rows above it were not read.")
    return warnings
