"""The monthly referral summary for one province (`GET /v1/reports/monthly`)."""

import re
from datetime import UTC, datetime

import geothai
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting import repository
from shared.agencies import AGENCIES

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_DIMENSIONS = {
    "by_agency": "agency",
    "by_status": "status",
    "by_category": "category",
    "by_worker_type": "worker_type",
}


async def monthly_summary(session: AsyncSession, *, province: str, month: str, timezone: str) -> dict:
    counts = {
        key: await repository.referral_counts(session, province=province, month=month, dimension=column)
        for key, column in _DIMENSIONS.items()
    }
    # Every agency appears, with 0 when it had nothing, so a dashboard's columns never move.
    counts["by_agency"] = {agency: counts["by_agency"].get(agency, 0) for agency in AGENCIES} | {
        key: value for key, value in counts["by_agency"].items() if key not in AGENCIES
    }
    services = await repository.service_counts(session, province=province, month=month)
    found = geothai.province(province)
    return {
        "province": province,
        "province_name_th": found.name_th if found else None,
        "province_name_en": found.name_en if found else None,
        "month": month,
        "timezone": timezone,
        "counted_by": "month the intake was received",
        "total": sum(counts["by_status"].values()),
        **counts,
        "services_delivered_at_intake": {"total": sum(services.values()), "by_need": services},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
