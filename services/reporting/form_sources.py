"""What the monthly forms list, read off the facts: every help counted in the month (referrals
whose intake arrived in it, and services delivered at intake), with the person's name and ID.

A referral counts where and when its intake was received (Asia/Bangkok month), as the offices
count today. Cancelled referrals and unroutable needs are left out: no help was given. A
transferred referral is left out in favour of its continuation at the other agency, which
inherits the same intake, so the person is listed once with the help that actually went ahead.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import geothai

from reporting.forms import (
    ACTION_PLAN_TH,
    FormTable,
    RegistrySnapshot,
    Month,
    Snb2Row,
    Sp12Row,
    assistance_label,
    snb2_form,
    sp12_form,
    worker_type_label,
)
from reporting.forms.table import ERASED_PERSON_TH
from reporting.models import IntakeServiceFact, ReferralFact, ReportPerson
from reporting.registry_stamps import snapshots
from shared.catalog import NeedCatalog
from shared.contracts import Sealed
from shared.privacy import Identities, KeyWrapper, identities_of
from shared.catalog.outcomes import OutcomeCatalog

NOT_A_HELP = ("cancelled", "transferred", "unroutable")


@dataclass(frozen=True, slots=True)
class Help:
    """One help given to one person, whatever fact it came from. No source programme: nothing on
    the forms may depend on it (PDPA s.26; forms.labels.ACTION_PLAN_TH), so it is not even read."""

    person_ref: str
    full_name: str  # ERASED_PERSON_TH when the person's key is gone
    national_id: str  # "" then
    erased: bool
    assistance: str
    worker_type: str
    on_informal_registry: bool | None  # when referred (registry_stamps); None: no snapshot then
    informal_registry_import_id: int | None


@dataclass(frozen=True, slots=True)
class Catalogs:
    needs: NeedCatalog
    outcomes: OutcomeCatalog


async def helps_in_month(
    session: AsyncSession, *, month: str, catalogs: Catalogs, master_keys: KeyWrapper, org_unit: str | None = None,
    province: str | None = None,
) -> list[Help]:
    """A province's month can be 100,000 helps: read as plain columns (no ORM objects, a tenth of
    the cost and memory) and turned into helps in a worker thread, so that the consumers sharing
    the event loop keep their heartbeats while a form is built. Each person's sealed identity is
    opened there with their key; a person without one (erased) is listed as erased."""
    person = (ReportPerson.person_ref, ReportPerson.identity_json)
    registry = (ReferralFact.informal_registry, ReferralFact.informal_registry_import_id)
    referral_query = (
        select(*person, ReferralFact.need_code, ReferralFact.category, ReferralFact.agency, ReferralFact.outcome_code,
               ReferralFact.worker_type, *registry)
        .join(ReportPerson, col(ReportPerson.person_ref) == col(ReferralFact.person_ref))
        .where(col(ReferralFact.has_intake).is_(True), ReferralFact.intake_month == month,
               col(ReferralFact.status).not_in(NOT_A_HELP))
    )
    service_query = (
        select(*person, IntakeServiceFact.need_code, IntakeServiceFact.category, IntakeServiceFact.worker_type,
               IntakeServiceFact.informal_registry, IntakeServiceFact.informal_registry_import_id)
        .join(ReportPerson, col(ReportPerson.person_ref) == col(IntakeServiceFact.person_ref))
        .where(IntakeServiceFact.intake_month == month)
    )
    if org_unit is not None:
        referral_query = referral_query.where(ReferralFact.org_unit == org_unit)
        service_query = service_query.where(IntakeServiceFact.org_unit == org_unit)
    if province is not None:
        referral_query = referral_query.where(ReferralFact.province_code == province)
        service_query = service_query.where(IntakeServiceFact.province_code == province)
    referrals = (await session.exec(referral_query)).all()
    services = (await session.exec(service_query)).all()
    identities = await identities_of(session, wrapper=master_keys,
                                     person_refs={row[0] for rows in (referrals, services) for row in rows})
    return await asyncio.to_thread(_helps, referrals=referrals, services=services, catalogs=catalogs,
                                   identities=identities)


def _opener(identities: Identities) -> Callable[[str, str], tuple[str, str, bool]]:
    """(name, ID, erased) of a person, each person opened once however many helps they have."""
    opened: dict[str, tuple[str, str, bool]] = {}

    def open_person(person_ref: str, identity_json: str) -> tuple[str, str, bool]:
        if person_ref not in opened:
            identity = identities.identity(Sealed.model_validate_json(identity_json), person_ref=person_ref)
            opened[person_ref] = ((identity.full_name, identity.national_id, False) if identity
                                  else (ERASED_PERSON_TH, "", True))
        return opened[person_ref]

    return open_person


def _helps(*, referrals: list, services: list, catalogs: Catalogs, identities: Identities) -> list[Help]:
    open_person = _opener(identities)
    helps = [
        Help(
            person_ref=person_ref, **_person_fields(open_person(person_ref, identity_json)),
            assistance=assistance_label(need_code=need_code or "", needs=catalogs.needs, category=category,
                                        agency=agency, outcome_code=outcome_code, outcomes=catalogs.outcomes),
            worker_type=worker_type_label(worker_type),
            on_informal_registry=on_registry, informal_registry_import_id=import_id,
        )
        for (person_ref, identity_json, need_code, category, agency, outcome_code, worker_type,
             on_registry, import_id) in referrals
    ]
    helps += [
        Help(
            person_ref=person_ref, **_person_fields(open_person(person_ref, identity_json)),
            assistance=assistance_label(need_code=need_code, needs=catalogs.needs, category=category),
            worker_type=worker_type_label(worker_type),
            on_informal_registry=on_registry, informal_registry_import_id=import_id,
        )
        for (person_ref, identity_json, need_code, category, worker_type, on_registry,
             import_id) in services
    ]
    return helps


def _person_fields(opened: tuple[str, str, bool]) -> dict:
    full_name, national_id, erased = opened
    return {"full_name": full_name, "national_id": national_id, "erased": erased}


def sp12_rows(helps: list[Help]) -> list[Sp12Row]:
    return [Sp12Row(full_name=h.full_name, national_id=h.national_id, assistance=h.assistance,
                    worker_type=h.worker_type, erased_ref=h.person_ref if h.erased else None) for h in helps]


def snb2_rows(helps: list[Help]) -> list[Snb2Row]:
    """Each help ticks whether the person was on the informal-labour registry when referred, as
    stamped on its fact when the intake was applied (registry_stamps). Every row is under the one
    action plan: a plan per source programme would tell who came from a drug programme."""
    return [
        Snb2Row(plan_project=ACTION_PLAN_TH, full_name=h.full_name, national_id=h.national_id,
                assistance=h.assistance, worker_type=h.worker_type, on_registry=h.on_informal_registry,
                erased_ref=h.person_ref if h.erased else None)
        for h in helps
    ]


async def registry_snapshots(session: AsyncSession, *, helps: list[Help]) -> list[RegistrySnapshot]:
    used = {h.informal_registry_import_id for h in helps if h.informal_registry_import_id is not None}
    return [RegistrySnapshot(effective_date=s.effective_date, imported_at=s.imported_at)
            for s in await snapshots(session, import_ids=used)]


async def build_sp12(
    session: AsyncSession, *, org_unit: str, month: Month, catalogs: Catalogs, master_keys: KeyWrapper,
    generated_at: datetime,
) -> FormTable:
    district = geothai.district(org_unit) if len(org_unit) == 4 else None
    province = geothai.province(org_unit[:2])
    helps = await helps_in_month(session, month=month.key, catalogs=catalogs, master_keys=master_keys, org_unit=org_unit)
    name = f"หน่วยบริการชุมชนแรงงานนอกระบบ อำเภอ{district.name_th}" if district else org_unit
    return await _form_of(helps, lambda: sp12_form(
        org_unit=org_unit, org_unit_name=name, province_name=province.name_th if province else "", month=month,
        rows=sp12_rows(helps), generated_at=generated_at))


async def build_snb2(
    session: AsyncSession, *, province: str, month: Month, catalogs: Catalogs, master_keys: KeyWrapper,
    generated_at: datetime,
) -> FormTable:
    found = geothai.province(province)
    helps = await helps_in_month(session, month=month.key, catalogs=catalogs, master_keys=master_keys, province=province)
    used = await registry_snapshots(session, helps=helps)
    return await _form_of(helps, lambda: snb2_form(
        province_name=found.name_th if found else province, province_code=province, month=month,
        rows=snb2_rows(helps), generated_at=generated_at, snapshots=used))


async def _form_of(helps: list[Help], make: Callable[[], FormTable]) -> FormTable:
    """The form `make` builds, naming the people it lists; pure, and a province's month is seconds
    of it, so it runs off the event loop."""
    return await asyncio.to_thread(lambda: replace(make(), person_refs=frozenset(h.person_ref for h in helps)))
