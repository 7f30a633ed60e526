"""HTTP routes of bulk intake. Thin: receive the file, queue the job, report on it."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from intake.bulk import repository
from intake.bulk.models import BulkJobRecord, job_submitter, submitter_columns, utc_now
from intake.bulk.report import error_report_lines, error_report_start, job_status, status_url
from intake.bulk.settings import BulkSettings
from intake.bulk.sheets import SheetError, SheetTooLarge, check_unpacked_size, sniff_kind
from intake.bulk.uploads import StoredUpload, UploadRefused, receive_upload
from intake.bulk.worker import BulkWorker
from intake.scope import Submitter, may_read_job
from shared.auth import Principal, caller, out_of_scope
from shared.auth.audit import note_people

UPLOAD_PATH = "/v1/intakes/bulk"
_ERROR_PAGE = 1000
_NOT_YOURS = {404: {"description": "No such job, or one the caller may not see (not the uploader, nor the "
                    "provincial office of every province the uploader submits for, nor national)"}}
_UPLOAD_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object",
        "required": ["file"],
        "properties": {"file": {
            "type": "string", "format": "binary",
            "description": "The sheet: CSV (UTF-8, with or without BOM) or XLSX, one person per row, "
            "Thai or English column headers.",
        }},
    }}},
}


def bulk_router(
    *, sessions: async_sessionmaker[AsyncSession], settings: BulkSettings, worker: BulkWorker
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["bulk intake"])

    @router.post(
        "/intakes/bulk",
        status_code=202,
        summary="Upload a sheet of intakes (CSV or XLSX); answers with a job to follow",
        openapi_extra={"requestBody": _UPLOAD_BODY},
        # The service-wide body limit is for JSON; a sheet has its own, enforced as it streams in
        # (receive_upload), plus multipart framing. This backstop sits above receive_upload's own
        # check (declared size > limit + 64 KiB), so a clerk gets its message, not a bare 413.
        max_body_size=settings.max_upload_bytes + 128 * 1024,
        responses={413: {"description": "The file, or what an XLSX would unpack to, is larger than the limit"},
                   409: {"description": "Idempotency-Key already used for a different file or by another user"},
                   415: {"description": "Not a multipart/form-data upload"}},
    )
    async def upload_sheet(
        request: Request,
        principal: Principal = Depends(caller),
        idempotency_key: str | None = Header(
            default=None, max_length=200, description="A retried upload with the same key returns the same job.",
        ),
    ) -> JSONResponse:
        job_id = str(uuid.uuid4())
        try:
            stored = await receive_upload(
                request, destination=settings.upload_dir / f"{job_id}.upload", max_bytes=settings.max_upload_bytes
            )
        except UploadRefused as refused:
            return JSONResponse(status_code=refused.status_code, content={"detail": refused.detail})
        try:
            kind = sniff_kind(stored.path)
            if kind == "xlsx":
                check_unpacked_size(stored.path, max_bytes=settings.max_unpacked_bytes)
        except SheetError as error:
            stored.path.unlink(missing_ok=True)
            status = 413 if isinstance(error, SheetTooLarge) else 422
            return JSONResponse(status_code=status, content={"detail": str(error)})
        path = stored.path.rename(stored.path.with_suffix(f".{kind}"))
        job = BulkJobRecord(
            job_id=job_id, filename=stored.filename, file_path=str(path), file_kind=kind, file_bytes=stored.size,
            file_sha256=stored.sha256, idempotency_key=idempotency_key, received_at=utc_now(),
            **submitter_columns(Submitter.of(principal)),
        )
        if idempotency_key is not None and (earlier := await _earlier_job(idempotency_key)) is not None:
            return _replay(earlier, stored, path, principal=principal)
        try:
            async with sessions() as session:
                repository.add_job(session, job=job)
                await session.commit()
        except IntegrityError:
            # The same key uploaded twice at once: the first one's job stands.
            if idempotency_key is None or (earlier := await _earlier_job(idempotency_key)) is None:
                path.unlink(missing_ok=True)
                raise
            return _replay(earlier, stored, path, principal=principal)
        worker.wake()
        return _accepted(job)

    @router.get("/intake-jobs/{job_id}", summary="Progress and counts of a bulk intake job", responses=_NOT_YOURS)
    async def show_job(job_id: str, principal: Principal = Depends(caller)) -> dict:
        return job_status(await _job_or_404(job_id, principal))

    @router.get(
        "/intake-jobs/{job_id}/errors.csv",
        summary="The job's error report: row, column, value, reason, reason_th (UTF-8 with BOM, for Excel)",
        response_class=StreamingResponse,
        responses=_NOT_YOURS,
    )
    async def download_errors(
        job_id: str, request: Request, principal: Principal = Depends(caller)
    ) -> StreamingResponse:
        job = await _job_or_404(job_id, principal)
        # The report quotes what was typed (IDs, names): one person per refused row, not known by ref.
        note_people(request, count=job.refused)

        async def report() -> AsyncIterator[str]:
            yield error_report_start()
            after = 0
            while True:  # page by page: a report may have as many lines as the sheet has rows
                async with sessions() as session:
                    page = await repository.error_page(session, job_id=job_id, after_id=after, limit=_ERROR_PAGE)
                if not page:
                    return
                yield error_report_lines(page)
                after = page[-1].id

        return StreamingResponse(
            report(), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{job_id}.errors.csv"'},
        )

    async def _job_or_404(job_id: str, principal: Principal) -> BulkJobRecord:
        async with sessions() as session:
            job = await repository.get_job(session, job_id=job_id)
        # Someone else's job answers exactly like a job that does not exist.
        if job is None or not may_read_job(principal, submitter=job_submitter(job)):
            raise out_of_scope(f"bulk intake job with id {job_id}")
        return job

    async def _earlier_job(key: str) -> BulkJobRecord | None:
        async with sessions() as session:
            return await repository.get_job_by_key(session, idempotency_key=key)

    return router


def _accepted(job: BulkJobRecord) -> JSONResponse:
    status = job_status(job)
    body = {key: status[key] for key in ("job_id", "state", "filename", "status_url", "errors_url")}
    return JSONResponse(status_code=202, content=body, headers={"Location": status_url(job.job_id)})


def _replay(earlier: BulkJobRecord, stored: StoredUpload, path: Path, *, principal: Principal) -> JSONResponse:
    path.unlink(missing_ok=True)
    # Another user's key is "already used" too: the answer never hands over someone else's job.
    if earlier.file_sha256 != stored.sha256 or earlier.submitted_by != principal.subject:
        return JSONResponse(status_code=409, content={
            "detail": "This Idempotency-Key was already used for another upload. Use a new key for a new sheet."
        })
    return _accepted(earlier)
