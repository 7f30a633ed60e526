"""The monthly referral summary for one province (`GET /v1/reports/monthly`)."""

import re
from collections import Counter
from datetime import UTC, datetime

import geothai
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting import rollups
from shared.agencies import AGENCIES

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
UNASSIGNED = "unassigned"
_DIMENSIONS = {
    "by_agency": "agency",
    "by_status": "status",
    "by_category": "category",
    "by_worker_type": "worker_type",
}


async def monthly_summary(session: AsyncSession, *, province: str, month: str, timezone: str) -> dict:
    """Read from the rollups (reporting.rollups): a few hundred rows whatever the facts' size."""
    counts: dict[str, Counter] = {key: Counter() for key in _DIMENSIONS}
    for row in await rollups.month_counts(session, province=province, month=month):
        for key, column in _DIMENSIONS.items():
            counts[key][getattr(row, column) or UNASSIGNED] += row.referrals
    by = {key: dict(sorted(values.items())) for key, values in counts.items()}
    # Every agency appears, with 0 when it had nothing, so a dashboard's columns never move.
    by["by_agency"] = {agency: by["by_agency"].get(agency, 0) for agency in AGENCIES} | {
        key: value for key, value in by["by_agency"].items() if key not in AGENCIES
    }
    services = await rollups.month_services(session, province=province, month=month)
    found = geothai.province(province)
    return {
        "province": province,
        "province_name_th": found.name_th if found else None,
        "province_name_en": found.name_en if found else None,
        "month": month,
        "timezone": timezone,
        "counted_by": "month the intake was received",
        "total": sum(by["by_status"].values()),
        **by,
        "services_delivered_at_intake": {"total": sum(services.values()), "by_need": services},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
