"""HTTP pieces every service serves: /health and /metrics."""

from shared.http.ops import http_latency_middleware, ops_router

__all__ = ["http_latency_middleware", "ops_router"]
