"""The month-close loop: on each form's due day, freeze every scope that had activity in the
month as version 1; afterwards, whenever a scope's facts change, compare and publish an amended
version that says what changed. Running it again with nothing new changes nothing.

A scope's facts changed since its newest version when its count of changes (scope_changes) is
not the one that version was built from or last found equal to (its mark): never by comparing
the facts' times with the version's, which misses a fact committed after the close read them."""

import asyncio
import hashlib
import json
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.closing import scope_changes
from reporting.closing.child import BuildOrder, Built, ChildBuilder, built, read_sources
from reporting.closing.models import PublishedReport
from reporting.closing.render_step import Key
from reporting.closing.schedule import CloseSchedule, Form
from reporting.form_sources import Catalogs
from reporting.forms import parse_month
from reporting.models import IntakeServiceFact, ReferralFact
from shared import ids
from shared.background import every
from shared.contracts import ReportPublishedV1
from shared.db import OutboxRelay, add_to_outbox, session_for_large_values, stored_utc
from shared.memory import give_back_memory
from shared.privacy import SealingSettings
from shared.topics import Topics

logger = logging.getLogger("songtor.reporting.close")
SYSTEM = "system"  # closed_by of what the background loop publishes


@dataclass(frozen=True, slots=True)
class ReportSources:
    sessions: async_sessionmaker[AsyncSession]
    catalogs: Catalogs
    zone: ZoneInfo
    # The master keys that open the people the forms list (plain settings, so a child process
    # gets them with its order).
    sealing: SealingSettings
    database_url: str | None = None
    """The database `sessions` open, when the close may build its forms in child processes
    (child.py: the service's memory stays flat); None, builds them in this process."""


@dataclass(frozen=True, slots=True)
class _Latest:
    """The newest version of a form, without its files: every scan reads one per scope and month."""

    version: int
    closed_at: datetime
    on_time: bool


class MonthCloser:
    def __init__(self, *, sources: ReportSources, schedule: CloseSchedule, topics: Topics, relay: OutboxRelay | None,
                 interval_seconds: float = 300.0) -> None:
        self._sources, self._schedule, self._topics, self._relay = sources, schedule, topics, relay
        self._interval = interval_seconds
        self._children = ChildBuilder()

    async def close_due(
        self, *, now: datetime | None = None, provinces: Collection[str] | None = None, closed_by: str = SYSTEM,
    ) -> list[PublishedReport]:
        """Publish what is due at `now`: first versions of months reaching their due day, and
        amendments of closed months whose facts changed. Returns what was published.

        `provinces`: only the forms of these provinces (a provincial office closing its own; an
        SP-12 org unit is in the province of its first two digits); None, the loop's: all.
        `closed_by`: who published, kept on each version (the caller's token subject)."""
        now = now or datetime.now(UTC)
        today = now.astimezone(self._sources.zone).date()
        async with self._sources.sessions() as session:
            active = await scopes_with_facts(session)
            changes = await scope_changes.changes_by_form(session)
            latest = await _latest_versions(session)
            marks = await scope_changes.marks(session)
        published = []
        for key in sorted(active):
            form, scope, month_key = key
            if provinces is not None and scope[:2] not in provinces:
                continue
            month = parse_month(month_key)
            if not self._schedule.is_due(form=form, month=month, today=today):  # type: ignore[arg-type]
                continue
            previous = latest.get(key)
            if previous is not None and marks.get(key) == (previous.version, changes.get(key, 0)):
                continue  # nothing has changed since the newest version was built or compared
            if (report := await self._publish(key=key, previous=previous, now=now, closed_by=closed_by)) is not None:
                published.append(report)
        if published and self._relay is not None:
            self._relay.wake()
        return published

    async def _publish(
        self, *, key: Key, previous: _Latest | None, now: datetime, closed_by: str,
    ) -> PublishedReport | None:
        form_name, scope, month_key = key
        form: Form = form_name  # type: ignore[assignment]
        built = await self._build(key=key, previous=previous, now=now)
        version = built.version
        if version is None:
            assert previous is not None, "a first version always differs from none"
            async with self._sources.sessions() as session:  # found equal: not compared again until a change
                await scope_changes.mark(session, key=key, version=previous.version, changes=built.changes_seen)
                await session.commit()
            return None
        due = self._schedule.due_date(form=form, month=parse_month(month_key))
        report = PublishedReport(
            form=form, scope=scope, month=month_key, version=(previous.version + 1) if previous else 1,
            kind="amendment" if previous else "original", due_date=due, closed_at=now,
            on_time=previous.on_time if previous else now.astimezone(self._sources.zone).date() <= due,
            people=built.person_count, content_sha256=hashlib.sha256(version.csv).hexdigest(),
            rows_json=version.rows_json, changes_json=json.dumps(version.changes, ensure_ascii=False),
            csv=version.csv, xlsx=version.xlsx, closed_by=closed_by,
        )
        async with session_for_large_values(self._sources.sessions) as session:
            session.add(report)
            add_to_outbox(session, topic=self._topics.report_published, key=f"{form}/{scope}/{month_key}",
                          event=announcement(report, changes=version.changes))
            await scope_changes.mark(session, key=key, version=report.version, changes=built.changes_seen)
            try:
                await session.commit()
            except IntegrityError:
                return None  # another reporting process published this version first
        logger.info("published %s/%s/%s version %d (%s)", form, scope, month_key, report.version, report.kind)
        return report

    async def _build(self, *, key: Key, previous: _Latest | None, now: datetime) -> Built:
        """The next version's files (none when nothing changed): in a child process when the
        sources name their database (the service), else here, off the event loop (tests, tools)."""
        form, scope, month_key = key
        sources = self._sources
        order = BuildOrder(catalogs=sources.catalogs, sealing=sources.sealing, form=form, scope=scope,
                           month_key=month_key, at=now,
                           previous_version=None if previous is None else previous.version)
        if sources.database_url is not None:
            return await self._children.build(sources.database_url, order)
        async with sources.sessions() as session:
            read = await read_sources(session, order)
        # Comparing and rendering a province's month is seconds of pure Python: off the event
        # loop, so that the consumers sharing it keep their heartbeats and their pace.
        return await asyncio.to_thread(built, read)

    async def run(self) -> None:
        try:
            await every(self._interval, self._scan, what="month close", logger=logger)
        finally:
            self._children.close()

    async def _scan(self) -> None:
        await self.close_due()
        # Only now are the versions' files (megabytes each) freed: their pages go back to the
        # system, and those of a form built in process (shared/memory.py).
        give_back_memory()


def announcement(report: PublishedReport, *, changes: list[dict]) -> ReportPublishedV1:
    key = f"{report.form}/{report.scope}/{report.month}"
    return ReportPublishedV1(
        event_id=ids.derived_event_id(source_id=key, purpose=f"published/{report.version}"),
        occurred_at=stored_utc(report.closed_at), correlation_id=f"report:{key}", producer="reporting",
        report_key=key, form=report.form, scope=report.scope, month=report.month,  # type: ignore[arg-type]
        version=report.version, kind=report.kind, due_date=report.due_date,  # type: ignore[arg-type]
        closed_at=stored_utc(report.closed_at), on_time=report.on_time, people=report.people,
        rows_added=sum(c["change"] == "added" for c in changes),
        rows_removed=sum(c["change"] == "removed" for c in changes),
        rows_changed=sum(c["change"] == "changed" for c in changes),
        content_sha256=report.content_sha256,
        download_path=f"/v1/reports/published/{key}/{report.version}.xlsx",
    )


async def scopes_with_facts(session: AsyncSession) -> set[Key]:
    """Every form scope and month with a fact: SP-12 by org unit, SNB-2 by province."""
    found: set[Key] = set()
    for form, fact_scope, service_scope in (
        ("sp12", ReferralFact.org_unit, IntakeServiceFact.org_unit),
        ("snb2", ReferralFact.province_code, IntakeServiceFact.province_code),
    ):
        referrals = await session.exec(
            select(fact_scope, ReferralFact.intake_month).where(col(ReferralFact.has_intake).is_(True)).distinct())
        services = await session.exec(select(service_scope, IntakeServiceFact.intake_month).distinct())
        found.update((form, str(scope), str(month)) for result in (referrals.all(), services.all())
                     for scope, month in result if scope and month)
    return found


async def _latest_versions(session: AsyncSession) -> dict[Key, _Latest]:
    newest = (
        select(PublishedReport.form, PublishedReport.scope, PublishedReport.month,
               func.max(PublishedReport.version).label("version"))
        .group_by(PublishedReport.form, PublishedReport.scope, PublishedReport.month)
        .subquery()
    )
    # Columns, not whole rows: a province's filed version carries megabytes of CSV, XLSX and rows.
    rows = await session.exec(
        select(PublishedReport.form, PublishedReport.scope, PublishedReport.month, PublishedReport.version,
               PublishedReport.closed_at, PublishedReport.on_time).join(
            newest,
            (col(PublishedReport.form) == newest.c.form) & (col(PublishedReport.scope) == newest.c.scope)
            & (col(PublishedReport.month) == newest.c.month) & (col(PublishedReport.version) == newest.c.version),
        )
    )
    return {(form, scope, month): _Latest(version=version, closed_at=closed_at, on_time=on_time)
            for form, scope, month, version, closed_at, on_time in rows.all()}
