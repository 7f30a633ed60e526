"""Reading a reporting database the way the service does, for tests that compare two databases
(live and rebuilt) or one with the expected files: the forms rendered with a fixed time, the
monthly summary and the summaries, straight from form_sources, monthly and summaries. And
reading it over HTTP in the test process: `guarded_app` mounts reporting's routers behind the
same token check as the service."""

from datetime import UTC, datetime, time
from itertools import groupby
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting import effects, form_sources
from reporting.form_sources import Catalogs
from reporting.forms import parse_fiscal_year, parse_month, render
from reporting.models import (
    IntakeServiceFact,
    MonthlyReferralCount,
    MonthlyServiceCount,
    ReferralFact,
    ReportPerson,
)
from reporting.monthly import monthly_summary
from reporting.registries.loader import import_registry
from reporting.registries.models import RegistryImport
from reporting.summaries import Period, summary
from shared.catalog import default_catalog
from shared.catalog.outcomes import load_outcomes
from shared.contracts import EventEnvelope
from shared.auth import AuthContext, caller
from shared.auth.guard import install
from shared.db import apply_batch_once, claim_events
from shared.privacy.key_copies import apply_key_records
from tests.support import report_scenario as scenario
from tests.support.registry_files import write_registry
from tests.support.tokens import LocalIssuer
from tests.support.sealing import MASTER_KEYS, key_issued

BANGKOK = ZoneInfo("Asia/Bangkok")
# Forms carry no time in their cells; the XLSX's properties and zip entries do: fixed, so that
# two renders of the same facts are the same bytes.
GENERATED_AT = datetime(2026, 10, 25, 9, 0, tzinfo=BANGKOK)
KIND_CONSUMER = {"intake": effects.INTAKES, "assigned": effects.ASSIGNED, "updated": effects.UPDATED,
                 "unroutable": effects.UNROUTABLE}


def guarded_app(*routers: APIRouter, issuer: LocalIssuer) -> FastAPI:
    """Reporting's routers guarded as shared.service.create_app guards them (reporting's policy
    table, tokens of `issuer`, pages sent to /auth/login), without the broker and loops."""
    app = FastAPI()
    for router in routers:
        app.include_router(router, dependencies=[Depends(caller)])
    install(app, context=AuthContext(service="reporting", verifier=issuer.verifier))
    return app

def catalogs() -> Catalogs:
    return Catalogs(needs=default_catalog(), outcomes=load_outcomes(None))


async def apply_events(sessions: async_sessionmaker[AsyncSession], events: list[tuple[str, EventEnvelope]]) -> None:
    """Each event through the live consumers' batch effects and inbox, in the order given, one
    event per transaction (a batch of one)."""
    families = effects.families(catalog=default_catalog(), zone=BANGKOK)
    for kind, event in events:
        family = families[KIND_CONSUMER[kind]]
        await apply_batch_once(sessions, consumer=family.consumer, events=[event], effect=family.apply_batch)
    await keep_keys(sessions)


async def apply_in_one_transaction(sessions: async_sessionmaker[AsyncSession],
                                   events: list[tuple[str, EventEnvelope]]) -> None:
    """All the events in one transaction, each run of consecutive events of one kind as one
    batch of its family (claimed in the inbox as `apply_batch_once` claims them): what one batch
    of a consumer does, and several families' batches sharing one session's objects."""
    families = effects.families(catalog=default_catalog(), zone=BANGKOK)
    async with sessions() as session:
        for kind, run in groupby(events, key=lambda pair: pair[0]):
            family = families[KIND_CONSUMER[kind]]
            batch = [event for _, event in run]
            claimed = await claim_events(session, consumer=family.consumer, event_ids=[e.event_id for e in batch])
            fresh = []
            for event in batch:  # the first copy of each id, as apply_batch_once
                if str(event.event_id) in claimed:
                    claimed.discard(str(event.event_id))
                    fresh.append(event)
            if fresh:
                await family.apply_batch(session, fresh)
        await session.commit()
    await keep_keys(sessions)


def registry_file(directory: Path) -> Path:
    """The scenario's informal-labour registry as an export arrives (Thai headers, BOM)."""
    rows = [[nid, f"HH{index:05d}", nid[1:3], nid[1:5]] for index, nid in enumerate(scenario.registry_ids())]
    return write_registry(directory / "informal-labour-2026-09-15.csv", rows)


async def import_scenario_registry(engine, directory: Path, *, person_ref_key: str) -> None:  # noqa: ANN001
    await import_registry(engine, kind="informal_labour", effective_date=scenario.REGISTRY_EFFECTIVE,
                          path=registry_file(directory), person_ref_key=person_ref_key)
    await backdate_registry(engine)


async def backdate_registry(engine) -> None:  # noqa: ANN001
    """The scenario's September is replayed today, but SNB-2 only uses a snapshot already loaded
    by the referral day: the import is dated as loaded at the start of its effective day, as an
    office that loaded it then would have it."""
    loaded = datetime.combine(scenario.REGISTRY_EFFECTIVE, time(), tzinfo=BANGKOK)
    async with engine.begin() as connection:
        await connection.execute(update(RegistryImport).values(imported_at=loaded.astimezone(UTC)))


async def scenario_forms(session: AsyncSession, *, month: str = scenario.MONTH) -> dict[str, object]:
    """Every form of the scenario's month by file stem (sp12_6401_2026-09, snb2_64_2026-09)."""
    chosen, found = parse_month(month), {}
    for unit in scenario.ORG_UNITS:
        form = await form_sources.build_sp12(session, org_unit=unit, month=chosen, catalogs=catalogs(),
                                             master_keys=MASTER_KEYS, generated_at=GENERATED_AT)
        found[form.file_stem] = form
    for province in scenario.PROVINCES:
        form = await form_sources.build_snb2(session, province=province, month=chosen, catalogs=catalogs(),
                                             master_keys=MASTER_KEYS, generated_at=GENERATED_AT)
        found[form.file_stem] = form
    return found


async def keep_keys(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The keys of the people reporting knows, as its person.keys consumer would have kept them
    (the events applied in process are the fact topics' only)."""
    async with sessions() as session:
        refs = (await session.exec(select(ReportPerson.person_ref))).all()
        await apply_key_records(session, records=[key_issued(ref) for ref in refs])
        await session.commit()


async def reports(sessions: async_sessionmaker[AsyncSession], *, test_keys: bool = True) -> dict[str, object]:
    """Everything an office reads, for September and October 2026 and fiscal years 2569-2570 (BE):
    the forms as CSV and XLSX bytes, the monthly summary and the summaries with people listed."""
    out: dict[str, object] = {}
    outcomes = load_outcomes(None)
    if test_keys:  # else the database has the keys its person.keys consumer (or a rebuild) kept
        await keep_keys(sessions)
    async with sessions() as session:
        for month in (scenario.MONTH, "2026-10"):
            for stem, form in (await scenario_forms(session, month=month)).items():
                out[f"{stem}.csv"], out[f"{stem}.xlsx"] = render(form, fmt="csv"), render(form, fmt="xlsx")
            chosen = parse_month(month)
            for province in scenario.PROVINCES:
                monthly = await monthly_summary(session, province=province, month=month, timezone=BANGKOK.key)
                out[f"monthly_{province}_{month}"] = {k: v for k, v in monthly.items() if k != "generated_at"}
                out[f"summary_{province}_{month}"] = await summary(
                    session, province=province, period=Period.of_month(chosen), zone=BANGKOK, outcomes=outcomes,
                    people_limit=100, master_keys=MASTER_KEYS, now=GENERATED_AT)
            for unit in scenario.ORG_UNITS:
                out[f"summary_{unit}_{month}"] = await summary(
                    session, province=unit[:2], org_unit=unit, period=Period.of_month(chosen), zone=BANGKOK,
                    outcomes=outcomes, people_limit=100, master_keys=MASTER_KEYS, now=GENERATED_AT)
        # September closes fiscal year 2569 (BE), October opens 2570.
        for year, province in ((y, p) for y in ("2569", "2570") for p in scenario.PROVINCES):
            out[f"summary_{province}_fy{year}"] = await summary(
                session, province=province, period=Period.of_fiscal_year(parse_fiscal_year(year)), zone=BANGKOK,
                outcomes=outcomes, people_limit=100, master_keys=MASTER_KEYS, now=GENERATED_AT)
    return out


async def facts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list]:
    """The fact rows themselves, without the columns that say when this database wrote them."""
    async with sessions() as session:
        referrals = (await session.exec(select(ReferralFact))).all()
        services = (await session.exec(select(IntakeServiceFact))).all()
        people = (await session.exec(select(ReportPerson))).all()
        referral_counts = (await session.exec(select(MonthlyReferralCount))).all()
        service_counts = (await session.exec(select(MonthlyServiceCount))).all()
    return {
        "referral_facts": sorted(str(r.model_dump(exclude={"updated_at"})) for r in referrals),
        "intake_service_facts": sorted(str(s.model_dump(exclude={"recorded_at"})) for s in services),
        "report_people": sorted(str(p.model_dump()) for p in people),
        # A row counted down to 0 stays: it says nothing, and an order of events may leave one.
        "monthly_referral_counts": sorted(str(c.model_dump()) for c in referral_counts if c.referrals),
        "monthly_service_counts": sorted(str(c.model_dump()) for c in service_counts if c.services),
    }
