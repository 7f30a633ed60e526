"""The monthly forms over HTTP: SP-12 per org unit and SNB-2 per province, as CSV or XLSX.
These are the live forms of the month as the facts stand now."""

import asyncio
from datetime import UTC, datetime
from typing import Literal

import geothai
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from starlette.background import BackgroundTask
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting import form_sources
from reporting.form_sources import Catalogs
from reporting.forms import MEDIA_TYPES, MonthError, file_name, parse_month, render
from reporting.scope import require_org_unit, require_province
from shared.auth import Principal, caller
from shared.auth.audit import note_people
from shared.memory import give_back_memory
from shared.privacy import KeyWrapper

Format = Literal["csv", "xlsx"]


def _month(text: str):  # noqa: ANN202
    try:
        return parse_month(text)
    except MonthError as error:
        raise HTTPException(status_code=422, detail=f"month: '{text}': {error.reason} / {error.reason_th}") from error


async def _download(form, fmt: str, request: Request) -> Response:  # noqa: ANN001
    note_people(request, person_refs=form.person_refs)  # names and IDs: the audit log says whose
    # A province's month is thousands of rows: rendered off the event loop, which the consumers share.
    content = await asyncio.to_thread(render, form, fmt=fmt)
    # After the answer is sent and the form freed: its pages go back to the system (shared/memory.py).
    return Response(content=content, media_type=MEDIA_TYPES[fmt], background=BackgroundTask(give_back_memory),
                    headers={"Content-Disposition": f'attachment; filename="{file_name(form, fmt=fmt)}"'})


def forms_router(*, sessions: async_sessionmaker[AsyncSession], catalogs: Catalogs, master_keys: KeyWrapper) -> APIRouter:
    router = APIRouter(prefix="/v1/reports", tags=["monthly forms"])

    @router.get("/sp12", summary="Form SP-12 (สป-12) of one org unit for one month, as CSV or XLSX")
    async def sp12(
        request: Request,
        org_unit: str = Query(pattern=r"^\d{2,10}$", description="Org unit code, as intakes give it", examples=["6406"]),
        month: str = Query(description="YYYY-MM (Christian Era), Asia/Bangkok", examples=["2026-11"]),
        format: Format = Query(default="xlsx"),  # noqa: A002 - the public parameter name
        principal: Principal = Depends(caller),
    ) -> Response:
        chosen = _month(month)
        require_org_unit(principal, org_unit)
        async with sessions() as session:
            form = await form_sources.build_sp12(session, org_unit=org_unit, month=chosen, catalogs=catalogs, master_keys=master_keys,
                                                 generated_at=datetime.now(UTC))
        return await _download(form, format, request)

    @router.get("/snb2", summary="Form SNB-2 (สนบ.2) of one province for one month, as CSV or XLSX")
    async def snb2(
        request: Request,
        province: str = Query(description="2-digit DOPA province code", examples=["64"]),
        month: str = Query(description="YYYY-MM (Christian Era), Asia/Bangkok", examples=["2026-11"]),
        format: Format = Query(default="xlsx"),  # noqa: A002
        principal: Principal = Depends(caller),
    ) -> Response:
        found = geothai.province(province)
        if found is None:
            raise HTTPException(status_code=422, detail=f"province: '{province}' is not a DOPA province code (e.g. 64)")
        chosen = _month(month)
        require_province(principal, province)
        async with sessions() as session:
            form = await form_sources.build_snb2(session, province=province, month=chosen, catalogs=catalogs, master_keys=master_keys,
                                                 generated_at=datetime.now(UTC))
        return await _download(form, format, request)

    return router
