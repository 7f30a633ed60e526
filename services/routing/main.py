"""Composition root of the routing service."""

from fastapi import FastAPI

from routing.handlers import register_routing_handlers
from routing.settings import RoutingSettings
from shared.catalog import load_catalog
from shared.service import create_app, create_runtime, serve

SERVICE = "routing"


def build_app(settings: RoutingSettings | None = None) -> FastAPI:
    settings = settings or RoutingSettings()
    catalog = load_catalog()  # refuses to start on a broken catalog, before any message is read
    runtime = create_runtime(service=SERVICE, settings=settings)
    register_routing_handlers(broker=runtime.broker, kafka=settings.kafka, catalog=catalog)
    return create_app(
        runtime,
        title="Songtor routing",
        description="Routes every need of an intake to the agency that can act on it.",
        routers=[],
    )


def run() -> None:
    settings = RoutingSettings()
    serve(lambda: build_app(settings), settings, service=SERVICE)
