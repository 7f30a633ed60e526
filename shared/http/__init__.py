"""HTTP pieces every service serves: /health, /metrics and /asyncapi.json."""

from shared.http.ops import asyncapi_router, http_latency_middleware, ops_router

__all__ = ["asyncapi_router", "http_latency_middleware", "ops_router"]
