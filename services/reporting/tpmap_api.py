"""The TPMAP report over HTTP, as JSON or as a CSV the office can send on. Refusals are the
summaries' (422, every field to correct in English and Thai), so one client handles both."""

from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.scope import require_province
from reporting.summaries_api import read_request
from shared.auth import Principal, caller
from reporting.tpmap_report import CSV_MEDIA_TYPE, csv_file_name, tpmap_csv, tpmap_report


def tpmap_router(*, sessions: async_sessionmaker[AsyncSession], zone: ZoneInfo) -> APIRouter:
    router = APIRouter(prefix="/v1/reports", tags=["summaries"])

    @router.get("/tpmap", summary="People helped in a province who were TPMAP targets when referred, by district",
                responses={422: {"description": "Fields to correct: field, value, reason and reason_th for each"}})
    async def tpmap(
        province: str = Query(description="2-digit DOPA province code", examples=["64"]),
        month: str | None = Query(default=None, description="YYYY-MM (Christian Era), Asia/Bangkok; or give "
                                  "fiscal_year", examples=["2026-11"]),
        fiscal_year: str | None = Query(default=None, description="Thai fiscal year in the Buddhist Era "
                                        "(2570 = 1 Oct 2026 - 30 Sep 2027)", examples=["2570"]),
        format: Literal["json", "csv"] = Query(default="json"),  # noqa: A002 - the public parameter name
        principal: Principal = Depends(caller),
    ) -> Response:
        period, _, errors = read_request(province=province, month=month, fiscal_year=fiscal_year, org_unit=None,
                                         people=None, default_people=0)
        if errors or period is None:
            count = len(errors)
            return JSONResponse({"detail": f"The TPMAP report cannot be made: {count} "
                                 f"{'field needs' if count == 1 else 'fields need'} correcting.", "errors": errors},
                                status_code=422)
        require_province(principal, province)
        async with sessions() as session:
            report = await tpmap_report(session, province=province, period=period, zone=zone)
        if format == "csv":
            return Response(content=tpmap_csv(report), media_type=CSV_MEDIA_TYPE,
                            headers={"Content-Disposition": f'attachment; filename="{csv_file_name(report)}"'})
        return JSONResponse(report)

    return router
