"""Composition root of the reporting service."""

import logging
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from reporting import rollups
from reporting.api import reports_router
from reporting.closing.api import published_router
from reporting.closing.closer import MonthCloser, ReportSources
from reporting.closing.schedule import CloseSchedule
from reporting.erasure import register_erasure_handler
from reporting.form_sources import Catalogs
from reporting.forms_api import forms_router
from reporting.handlers import register_reporting_handlers
from reporting.migrations import SCHEMA
from reporting.national_feed.wiring import install_national_feed
from reporting.ops import install_ops
from reporting.registries.api import registries_router
from reporting.settings import ReportingSettings
from reporting.summaries_api import summaries_router
from reporting.tpmap_api import tpmap_router
from shared.catalog import load_catalog
from shared.catalog.outcomes import load_outcomes
from shared.db import OutboxRelay
from shared.privacy import master_keys_from
from shared.memory import fixed_mmap_threshold
from shared.retention.job import retention_job
from shared.service import create_app, create_runtime, serve

SERVICE = "reporting"
logger = logging.getLogger("songtor.reporting")


def build_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    fixed_mmap_threshold()  # filed forms are megabytes each: freed, they go back to the system
    runtime = create_runtime(service=SERVICE, settings=settings, schema=SCHEMA)
    catalog, zone = load_catalog(settings.catalog.catalog_path), ZoneInfo(settings.timezone)
    register_reporting_handlers(
        broker=runtime.broker, kafka=settings.kafka, sessions=runtime.sessions, catalog=catalog, zone=zone,
    )
    runtime.on_start.append(lambda: _fill_rollups(runtime.sessions))
    catalogs = Catalogs(needs=catalog, outcomes=load_outcomes(settings.outcomes_path))
    relay = OutboxRelay(engine=runtime.engine, broker=runtime.broker, registry=runtime.registry)
    runtime.background.append(relay.run)
    sources = ReportSources(sessions=runtime.sessions, catalogs=catalogs, zone=zone, sealing=settings.sealing,
                            database_url=settings.close_database_url())
    master_keys = master_keys_from(settings.sealing)
    register_erasure_handler(broker=runtime.broker, kafka=settings.kafka, sessions=runtime.sessions, relay=relay,
                             master_keys=master_keys)
    schedule = CloseSchedule(sp12_due_day=settings.sp12_due_day, snb2_due_day=settings.snb2_due_day)
    closer = MonthCloser(sources=sources, schedule=schedule, topics=settings.kafka.topics, relay=relay,
                         interval_seconds=settings.close_scan_seconds)
    # One copy closes at a time: two would build every form twice, and the second's version collide.
    runtime.background.append(runtime.leases.runs_alone(name="month-close", job=closer.run))
    runtime.background.append(retention_job(runtime))  # inbox, outbox, audit log: docs/retention.md
    national_feed = install_national_feed(runtime=runtime, settings=settings, outcomes=catalogs.outcomes,
                                          master_keys=master_keys)
    ops = install_ops(runtime=runtime, kafka=settings.kafka, ops_kafka=settings.ops_kafka(), zone=zone,
                      scan_seconds=settings.ops_scan_seconds)
    return create_app(
        runtime,
        pages=True,  # /ops and the printable summaries sign in through the issuer (/auth)
        title="Songtor reporting",
        description="Referral facts projected from the event log; monthly summaries and forms.",
        routers=[
            ops,
            reports_router(sessions=runtime.sessions, timezone=settings.timezone),
            forms_router(sessions=runtime.sessions, catalogs=catalogs, master_keys=master_keys),
            published_router(sources=sources, schedule=schedule, closer=closer),
            summaries_router(sessions=runtime.sessions, zone=zone, outcomes=catalogs.outcomes, master_keys=master_keys),
            tpmap_router(sessions=runtime.sessions, zone=zone),
            registries_router(sessions=runtime.sessions),
            national_feed,
        ],
    )


async def _fill_rollups(sessions) -> None:  # noqa: ANN001
    counted = await rollups.backfill(sessions)
    if counted is not None:
        logger.info("rollups filled from %d referral facts", counted)


def run() -> None:
    settings = ReportingSettings()
    serve(lambda: build_app(settings), settings, service=SERVICE)
