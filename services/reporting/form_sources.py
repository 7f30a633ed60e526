"""What the monthly forms list, read off the facts: every help counted in the month (referrals
whose intake arrived in it, and services delivered at intake), with the person's name and ID.

A referral counts where and when its intake was received (Asia/Bangkok month), as the offices
count today. Cancelled referrals and unroutable needs are left out: no help was given. A
transferred referral is left out in favour of its continuation at the other agency, which
inherits the same intake, so the person is listed once with the help that actually went ahead.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import geothai

from reporting.forms import (
    FormTable,
    Month,
    Snb2Row,
    Sp12Row,
    assistance_label,
    plan_project_label,
    snb2_form,
    sp12_form,
    worker_type_label,
)
from reporting.models import IntakeServiceFact, ReferralFact, ReportPerson
from reporting.registries.lookup import registry_status_at
from shared.catalog import NeedCatalog
from shared.catalog.outcomes import OutcomeCatalog

NOT_A_HELP = ("cancelled", "transferred", "unroutable")
INFORMAL_LABOUR_REGISTRY = "informal_labour"


@dataclass(frozen=True, slots=True)
class Help:
    """One help given to one person, whatever fact it came from."""

    person_ref: str
    full_name: str
    national_id: str
    assistance: str
    worker_type: str
    source_program: str
    referred_at: datetime | None


@dataclass(frozen=True, slots=True)
class Catalogs:
    needs: NeedCatalog
    outcomes: OutcomeCatalog


async def helps_in_month(
    session: AsyncSession, *, month: str, catalogs: Catalogs, org_unit: str | None = None, province: str | None = None
) -> list[Help]:
    referral_query = (
        select(ReferralFact, ReportPerson)
        .join(ReportPerson, col(ReportPerson.person_ref) == col(ReferralFact.person_ref))
        .where(col(ReferralFact.has_intake).is_(True), ReferralFact.intake_month == month,
               col(ReferralFact.status).not_in(NOT_A_HELP))
    )
    service_query = (
        select(IntakeServiceFact, ReportPerson)
        .join(ReportPerson, col(ReportPerson.person_ref) == col(IntakeServiceFact.person_ref))
        .where(IntakeServiceFact.intake_month == month)
    )
    if org_unit is not None:
        referral_query = referral_query.where(ReferralFact.org_unit == org_unit)
        service_query = service_query.where(IntakeServiceFact.org_unit == org_unit)
    if province is not None:
        referral_query = referral_query.where(ReferralFact.province_code == province)
        service_query = service_query.where(IntakeServiceFact.province_code == province)
    helps = [
        Help(
            person_ref=person.person_ref, full_name=person.full_name, national_id=person.national_id,
            assistance=assistance_label(need_code=fact.need_code or "", needs=catalogs.needs, category=fact.category,
                                        agency=fact.agency, outcome_code=fact.outcome_code, outcomes=catalogs.outcomes),
            worker_type=worker_type_label(fact.worker_type), source_program=fact.source_program or "",
            referred_at=fact.intake_received_at,
        )
        for fact, person in (await session.exec(referral_query)).all()
    ]
    helps += [
        Help(
            person_ref=person.person_ref, full_name=person.full_name, national_id=person.national_id,
            assistance=assistance_label(need_code=fact.need_code, needs=catalogs.needs, category=fact.category),
            worker_type=worker_type_label(fact.worker_type), source_program=fact.source_program, referred_at=None,
        )
        for fact, person in (await session.exec(service_query)).all()
    ]
    return helps


def sp12_rows(helps: list[Help]) -> list[Sp12Row]:
    return [Sp12Row(full_name=h.full_name, national_id=h.national_id, assistance=h.assistance,
                    worker_type=h.worker_type) for h in helps]


async def snb2_rows(session: AsyncSession, *, helps: list[Help], month_start: datetime, zone: ZoneInfo) -> list[Snb2Row]:
    """Each help ticks whether the person was on the informal-labour registry when referred
    (services at intake: at the start of the month), from the registry snapshot in effect then."""
    def day_of(h: Help):  # noqa: ANN202
        moment = h.referred_at or month_start
        # SQLite hands datetimes back without their zone; they were stored as UTC.
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone).date()

    by_day: dict = defaultdict(set)
    for h in helps:
        by_day[day_of(h)].add(h.person_ref)
    status = {}
    for day, refs in by_day.items():
        # Only snapshots already loaded by the end of that day count: an import made later, even
        # one dated earlier, must not change what a form says about that day.
        known_by = datetime.combine(day, time.max, tzinfo=zone)
        found = await registry_status_at(session, kind=INFORMAL_LABOUR_REGISTRY, person_refs=refs, at=day,
                                         known_at=known_by)
        status.update({(day, ref): answer.on_registry for ref, answer in found.items()})
    return [
        Snb2Row(plan_project=plan_project_label(h.source_program), full_name=h.full_name, national_id=h.national_id,
                assistance=h.assistance, worker_type=h.worker_type,
                on_registry=status[(day_of(h), h.person_ref)])
        for h in helps
    ]


async def build_sp12(
    session: AsyncSession, *, org_unit: str, month: Month, catalogs: Catalogs, generated_at: datetime
) -> FormTable:
    district = geothai.district(org_unit) if len(org_unit) == 4 else None
    province = geothai.province(org_unit[:2])
    helps = await helps_in_month(session, month=month.key, catalogs=catalogs, org_unit=org_unit)
    return sp12_form(
        org_unit=org_unit,
        org_unit_name=f"หน่วยบริการชุมชนแรงงานนอกระบบ อำเภอ{district.name_th}" if district else org_unit,
        province_name=province.name_th if province else "", month=month,
        rows=sp12_rows(helps), generated_at=generated_at,
    )


async def build_snb2(
    session: AsyncSession, *, province: str, month: Month, catalogs: Catalogs, zone: ZoneInfo, generated_at: datetime
) -> FormTable:
    found = geothai.province(province)
    helps = await helps_in_month(session, month=month.key, catalogs=catalogs, province=province)
    month_start = datetime.combine(month.first_day, time(), tzinfo=zone)
    rows = await snb2_rows(session, helps=helps, month_start=month_start, zone=zone)
    return snb2_form(province_name=found.name_th if found else province, province_code=province, month=month,
                     rows=rows, generated_at=generated_at)
