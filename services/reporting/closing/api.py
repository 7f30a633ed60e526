"""Published versions of the forms, and which offices had activity and closed on time."""

import hashlib
import json
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from sqlmodel import col, select

from reporting.closing.closer import MonthCloser, ReportSources, scopes_with_facts
from reporting.closing.models import PublishedReport
from reporting.closing.schedule import FORMS, CloseSchedule
from reporting.forms import MEDIA_TYPES, MonthError, parse_month
from reporting.scope import completeness_filter, covers_form_scope, published_filter
from shared.auth import Principal, caller
from shared.auth.audit import note_people
from shared.db import stored_utc

FormName = Literal["sp12", "snb2"]


def version_view(report: PublishedReport) -> dict:
    key = f"{report.form}/{report.scope}/{report.month}"
    # content_sha256 names the CSV as filed and announced on report.published; an erasure since
    # redacts the file (closing/redaction.py), which then has a hash of its own.
    csv_sha256 = hashlib.sha256(report.csv).hexdigest()
    return {
        "form": report.form, "scope": report.scope, "month": report.month, "version": report.version,
        "kind": report.kind, "due_date": report.due_date.isoformat(), "closed_at": stored_utc(report.closed_at).isoformat(),
        "on_time": report.on_time, "people": report.people, "content_sha256": report.content_sha256,
        "redacted": csv_sha256 != report.content_sha256, "csv_sha256": csv_sha256,
        "closed_by": report.closed_by,
        "changes": json.loads(report.changes_json),
        "files": {fmt: f"/v1/reports/published/{key}/{report.version}.{fmt}" for fmt in ("csv", "xlsx")},
    }


def published_router(*, sources: ReportSources, schedule: CloseSchedule, closer: MonthCloser) -> APIRouter:
    router = APIRouter(prefix="/v1/reports", tags=["month close"])
    sessions = sources.sessions

    @router.get("/published", summary="Published versions of the forms of the caller's provinces, newest first")
    async def list_published(
        form: FormName | None = None, scope: str | None = None, month: str | None = None,
        limit: int = Query(default=100, ge=1, le=1000), principal: Principal = Depends(caller),
    ) -> dict:
        query = select(PublishedReport).order_by(col(PublishedReport.closed_at).desc(), col(PublishedReport.version).desc())
        if (mine := published_filter(principal)) is not None:
            query = query.where(mine)
        for column, value in ((PublishedReport.form, form), (PublishedReport.scope, scope), (PublishedReport.month, month)):
            if value is not None:
                query = query.where(column == value)
        async with sessions() as session:
            rows = (await session.exec(query.limit(limit))).all()
        return {"versions": [version_view(r) for r in rows]}

    @router.get("/published/{form}/{scope}/{month}/{version}.{fmt}", summary="One published version, as filed")
    async def download(request: Request, form: FormName, scope: str, month: str, version: int,
                       fmt: Literal["csv", "xlsx", "json"], principal: Principal = Depends(caller)) -> Response:
        report = None
        if covers_form_scope(principal, form=form, scope=scope):
            async with sessions() as session:
                report = await session.get(PublishedReport, (form, scope, month, version))
        if report is None:  # out of scope answers as a version never filed
            raise HTTPException(status_code=404, detail=f"No version {version} of {form}/{scope}/{month}")
        if fmt == "json":  # the version's record: counts and links, nobody named
            note_people(request, count=0)
            return Response(content=json.dumps(version_view(report), ensure_ascii=False), media_type="application/json")
        note_people(request, count=report.people)  # the filed form: names and IDs as filed
        name = f"{form}_{scope}_{month}_v{version}.{fmt}"
        return Response(content=report.csv if fmt == "csv" else report.xlsx, media_type=MEDIA_TYPES[fmt],
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @router.get("/completeness", summary="Which org units and provinces had activity in a month, and whether "
                "their forms were closed on time")
    async def completeness(month: str = Query(examples=["2026-11"]), province: str | None = None,
                           principal: Principal = Depends(caller)) -> dict:
        try:
            chosen = parse_month(month)
        except MonthError as error:
            raise HTTPException(status_code=422, detail=f"month: '{month}': {error.reason}") from error
        shown = completeness_filter(principal, province=province)
        async with sessions() as session:
            active = [k for k in await scopes_with_facts(session) if k[2] == chosen.key]
            rows = (await session.exec(select(PublishedReport).where(PublishedReport.month == chosen.key))).all()
        versions: dict[tuple[str, str], list[PublishedReport]] = {}
        for row in rows:
            versions.setdefault((row.form, row.scope), []).append(row)
        entries = []
        for form, scope, _month in sorted(active):
            if not shown(form, scope):
                continue
            mine = sorted(versions.get((form, scope), []), key=lambda r: r.version)
            entries.append({
                "form": form, "scope": scope, "due_date": schedule.due_date(form=form, month=chosen).isoformat(),
                "closed": bool(mine), "on_time": mine[0].on_time if mine else None,
                "closed_at": stored_utc(mine[0].closed_at).isoformat() if mine else None,
                "latest_version": mine[-1].version if mine else None, "amendments": max(len(mine) - 1, 0),
            })
        return {"month": chosen.key, "forms": list(FORMS), "scopes": entries}

    @router.post("/close-due", summary="Close what is due now for the caller's provinces (the close also runs "
                 "by itself, for every province); idempotent")
    async def close_due(principal: Principal = Depends(caller)) -> dict:
        published = await closer.close_due(provinces=principal.provinces, closed_by=principal.subject)
        return {"published": [version_view(r) for r in published]}

    return router
