"""Reporting HTTP routes."""

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import geothai

from reporting.monthly import MONTH, monthly_summary
from reporting.scope import require_province
from shared.auth import Principal, caller


def reports_router(*, sessions: async_sessionmaker[AsyncSession], timezone: str) -> APIRouter:
    router = APIRouter(prefix="/v1/reports", tags=["reports"])

    @router.get("/monthly", summary="Referrals of one province in one month, by agency, status, category, worker type")
    async def monthly(
        province: str = Query(description="2-digit DOPA province code", examples=["64"]),
        month: str = Query(description="YYYY-MM (Christian Era), Asia/Bangkok", examples=["2026-11"]),
        principal: Principal = Depends(caller),
    ) -> dict:
        if geothai.province(province) is None:
            raise HTTPException(status_code=422, detail=f"province: '{province}' is not a DOPA province code (e.g. 64)")
        if not MONTH.match(month):
            raise HTTPException(status_code=422, detail=f"month: '{month}' is not a month written YYYY-MM")
        require_province(principal, province)
        async with sessions() as session:
            return await monthly_summary(session, province=province, month=month, timezone=timezone)

    return router
