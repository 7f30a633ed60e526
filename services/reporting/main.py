"""Composition root of the reporting service."""

from zoneinfo import ZoneInfo

from fastapi import FastAPI

from reporting.api import reports_router
from reporting.handlers import register_reporting_handlers
from reporting.models import TABLES
from reporting.settings import ReportingSettings
from reporting.summaries_api import summaries_router
from shared.catalog import load_catalog
from shared.catalog.outcomes import load_outcomes
from shared.service import create_app, create_runtime, serve

SERVICE = "reporting"


def build_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    runtime = create_runtime(service=SERVICE, settings=settings, tables=TABLES)
    register_reporting_handlers(
        broker=runtime.broker,
        kafka=settings.kafka,
        sessions=runtime.sessions,
        catalog=load_catalog(settings.catalog.catalog_path),
        zone=ZoneInfo(settings.timezone),
    )
    return create_app(
        runtime,
        title="Songtor reporting",
        description="Referral facts projected from the event log; monthly summaries and forms.",
        routers=[
            reports_router(sessions=runtime.sessions, timezone=settings.timezone),
            summaries_router(sessions=runtime.sessions, zone=ZoneInfo(settings.timezone), outcomes=load_outcomes()),
        ],
    )


def run() -> None:
    settings = ReportingSettings()
    serve(lambda: build_app(settings), settings, service=SERVICE)
