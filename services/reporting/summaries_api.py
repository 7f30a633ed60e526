"""Summaries over HTTP: JSON for dashboards, and the same numbers as a printable HTML page.

Refusals answer 422 with every field to correct (field, value, reason in English and Thai), as
intake does, so one client-side handler reads them all; the page answers the same in HTML.
"""

import re
from zoneinfo import ZoneInfo

import geothai
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.forms import MonthError, parse_fiscal_year, parse_month
from reporting.scope import require_province
from reporting.summaries import Period, summary
from reporting.summary_page import render_not_found_page, render_refusal_page, render_summary_page
from shared.auth import Principal, caller
from shared.auth.audit import note_people
from shared.catalog.outcomes import OutcomeCatalog
from shared.privacy import KeyWrapper

_ORG_UNIT = re.compile(r"^[0-9]{2,10}$")
_MAX_PEOPLE = 1000
PAGE_PEOPLE = 200


def _error(field: str, value: object, reason: str, reason_th: str) -> dict:
    return {"field": field, "value": value, "reason": reason, "reason_th": reason_th}


def read_request(
    *, province: str, month: str | None, fiscal_year: str | None, org_unit: str | None, people: str | None,
    default_people: int,
) -> tuple[Period | None, int, list[dict]]:
    """The period and the number of people to list, or every problem at once."""
    errors: list[dict] = []
    if geothai.province(province) is None:
        errors.append(_error("province", province, f"'{province}' is not a 2-digit DOPA province code, e.g. 64",
                             f"'{province}' ไม่ใช่รหัสจังหวัด 2 หลักของกรมการปกครอง เช่น 64"))
    if org_unit is not None and not (_ORG_UNIT.match(org_unit) and org_unit.startswith(province)):
        errors.append(_error("org_unit", org_unit, f"'{org_unit}' is not an org unit code of province {province}, e.g. "
                             f"{province}06", f"'{org_unit}' ไม่ใช่รหัสหน่วยงานในจังหวัด {province} เช่น {province}06"))
    period = None
    if (month is None) == (fiscal_year is None):
        errors.append(_error(
            "month" if month is not None else "fiscal_year", month or fiscal_year,
            "give exactly one of month (YYYY-MM, e.g. 2026-11) or fiscal_year (Buddhist Era, e.g. 2570)",
            "ระบุอย่างใดอย่างหนึ่ง: month (ปปปป-ดด เช่น 2026-11) หรือ fiscal_year (ปี พ.ศ. เช่น 2570)"))
    else:
        try:
            period = (Period.of_month(parse_month(month)) if month is not None
                      else Period.of_fiscal_year(parse_fiscal_year(fiscal_year or "")))
        except MonthError as error:
            field, value = ("month", month) if month is not None else ("fiscal_year", fiscal_year)
            errors.append(_error(field, value, error.reason, error.reason_th))
    limit = default_people
    if people is not None:
        if people.isdigit() and int(people) <= _MAX_PEOPLE:
            limit = int(people)
        else:
            errors.append(_error("people", people, f"how many people to list: a whole number 0-{_MAX_PEOPLE}",
                                 f"จำนวนรายชื่อที่จะแสดง: จำนวนเต็ม 0-{_MAX_PEOPLE}"))
    return period, limit, errors


def _listed(data: dict) -> int:
    """People named in the answer (masked IDs still name them); the counts alone name nobody."""
    return len((data.get("people") or {}).get("listed") or [])


def _refusal(errors: list[dict]) -> dict:
    count = len(errors)
    return {"detail": f"The summary cannot be made: {count} {'field needs' if count == 1 else 'fields need'} "
                      "correcting.", "errors": errors}


def summaries_router(
    *, sessions: async_sessionmaker[AsyncSession], zone: ZoneInfo, master_keys: KeyWrapper,
    outcomes: OutcomeCatalog | None = None,
) -> APIRouter:
    router = APIRouter(prefix="/v1/reports", tags=["summaries"])
    refusals = {422: {"description": "Fields to correct: field, value, reason and reason_th for each"}}

    async def build(principal, province, month, fiscal_year, org_unit, people, *, default_people):  # noqa: ANN001, ANN202
        period, limit, errors = read_request(province=province, month=month, fiscal_year=fiscal_year,
                                             org_unit=org_unit, people=people, default_people=default_people)
        if errors or period is None:
            return None, errors
        require_province(principal, province)  # org_unit is checked above to lie in the province
        async with sessions() as session:
            return await summary(session, province=province, period=period, zone=zone, org_unit=org_unit,
                                 outcomes=outcomes, people_limit=limit, master_keys=master_keys), []

    province_q = Query(description="2-digit DOPA province code", examples=["64"])
    month_q = Query(default=None, description="YYYY-MM (Christian Era), Asia/Bangkok; or give fiscal_year",
                    examples=["2026-11"])
    fiscal_q = Query(default=None, description="Thai fiscal year in the Buddhist Era (2570 = 1 Oct 2026 - 30 Sep 2027)",
                     examples=["2570"])
    org_unit_q = Query(default=None, description="Only this org unit of the province", examples=["6406"])

    @router.get("/summary", summary="Helps and people by category, agency, district, worker type, source, "
                "status and month, for a month or a Thai fiscal year", responses=refusals)
    async def summary_json(
        request: Request,
        province: str = province_q, month: str | None = month_q, fiscal_year: str | None = fiscal_q,
        org_unit: str | None = org_unit_q,
        people: str | None = Query(default=None, description=f"List up to this many people, IDs masked "
                                   f"(0-{_MAX_PEOPLE}, default 0)"),
        principal: Principal = Depends(caller),
    ) -> JSONResponse:
        data, errors = await build(principal, province, month, fiscal_year, org_unit, people, default_people=0)
        if errors:
            return JSONResponse(_refusal(errors), status_code=422)
        note_people(request, count=_listed(data))
        return JSONResponse(data)

    @router.get("/summary.html", summary="The same summary as a printable page (Thai and English)",
                response_class=HTMLResponse, responses=refusals)
    async def summary_html(
        request: Request,
        province: str = province_q, month: str | None = month_q, fiscal_year: str | None = fiscal_q,
        org_unit: str | None = org_unit_q,
        people: str | None = Query(default=None, description=f"People to list, IDs masked (0-{_MAX_PEOPLE}, "
                                   f"default {PAGE_PEOPLE})"),
        principal: Principal = Depends(caller),
    ) -> HTMLResponse:
        try:
            data, errors = await build(principal, province, month, fiscal_year, org_unit, people,
                                       default_people=PAGE_PEOPLE)
        except HTTPException as missing:  # out of scope: the JSON route's 404, as a page
            return HTMLResponse(render_not_found_page(str(missing.detail)), status_code=missing.status_code)
        if errors:
            return HTMLResponse(render_refusal_page(errors), status_code=422)
        note_people(request, count=_listed(data))
        return HTMLResponse(render_summary_page(data))

    return router
