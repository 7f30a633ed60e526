"""Composition root of the routing service."""

from fastapi import FastAPI

from routing.api import routing_router
from routing.handlers import register_routing_handlers
from routing.migrations import SCHEMA
from routing.retention import routing_purges
from routing.settings import RoutingSettings
from shared.catalog import load_catalog
from shared.db import OutboxRelay
from shared.retention.job import retention_job
from shared.service import create_app, create_runtime, serve

SERVICE = "routing"


def build_app(settings: RoutingSettings | None = None) -> FastAPI:
    settings = settings or RoutingSettings()
    # Refuses to start on a broken catalog, before any message is read.
    catalog = load_catalog(settings.catalog.catalog_path)
    runtime = create_runtime(service=SERVICE, settings=settings, schema=SCHEMA)
    relay = OutboxRelay(engine=runtime.engine, broker=runtime.broker, registry=runtime.registry)
    runtime.background.append(relay.run)
    runtime.background.append(retention_job(runtime, purges=routing_purges(settings)))  # docs/retention.md
    register_routing_handlers(
        broker=runtime.broker, kafka=settings.kafka, catalog=catalog, sessions=runtime.sessions, relay=relay
    )
    return create_app(
        runtime,
        title="Songtor routing",
        description="Routes every need of an intake to the agency that can act on it, and says why.",
        routers=[routing_router(sessions=runtime.sessions, relay=relay, topics=settings.kafka.topics, catalog=catalog)],
    )


def run() -> None:
    settings = RoutingSettings()
    serve(lambda: build_app(settings), settings, service=SERVICE)
