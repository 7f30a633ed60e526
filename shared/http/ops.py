"""`GET /health` (is the broker reachable?), `GET /health/live` (does the process answer?),
`GET /metrics` (Prometheus text) and `GET /asyncapi.json` (the event contracts)."""

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest


def ops_router(*, service: str, broker: KafkaBroker, registry: CollectorRegistry) -> APIRouter:
    router = APIRouter(tags=["operations"])
    started = time.monotonic()

    @router.get("/health", summary="Service and broker health")
    async def health() -> JSONResponse:
        broker_ok = await broker.ping(timeout=2.0)
        body = {
            "service": service,
            "status": "ok" if broker_ok else "degraded",
            "broker": {"connected": broker_ok},
            "uptime_seconds": round(time.monotonic() - started, 1),
        }
        return JSONResponse(body, status_code=200 if broker_ok else 503)

    @router.get("/health/live", summary="The process answers (liveness)")
    async def live() -> JSONResponse:
        """What a liveness probe asks: restarting a service cures a hung process, not a broker
        outage, which /health reports (readiness) and the consumers wait out."""
        return JSONResponse({"service": service, "status": "alive"})

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


def asyncapi_router(*, document: dict[str, Any]) -> APIRouter:
    """Every service serves the same document, so an agency finds the event contracts next to
    whichever service it already talks to, with this deployment's topic names."""
    router = APIRouter(tags=["contracts"])

    @router.get("/asyncapi.json", summary="AsyncAPI 3.0 document of every Kafka topic")
    async def asyncapi() -> JSONResponse:
        return JSONResponse(document)

    return router


def http_latency_middleware(*, service: str, registry: CollectorRegistry):  # noqa: ANN201
    """Per-route request latency; the route template (not the raw path) keeps labels bounded
    and free of ids."""
    histogram = Histogram(
        "songtor_http_request_seconds",
        "HTTP request latency by route and status.",
        ["service", "method", "route", "status"],
        registry=registry,
    )

    async def middleware(request: Request, call_next):  # noqa: ANN001, ANN202
        begun = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        histogram.labels(service, request.method, template, str(response.status_code)).observe(
            time.perf_counter() - begun
        )
        return response

    return middleware
