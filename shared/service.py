"""What every service process is made of, assembled the same way in each composition root:
a Prometheus registry, the Kafka broker, an optional database, and a FastAPI app whose
lifespan starts and stops them in order."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import uvicorn
from fastapi import APIRouter, Depends, FastAPI
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import AuthContext, TokenVerifier, caller
from shared.auth.audit import audit_router, install_audit
from shared.auth.browser import browser_login_router
from shared.auth.guard import document_answers, install as install_auth
from shared.background import BackgroundLeases
from shared.db import make_engine, session_factory
from shared.db.migrations import prepare_schema
from shared.db.schema import ServiceSchema
from shared.contracts.asyncapi import build_asyncapi
from shared.http import asyncapi_router, http_latency_middleware, ops_router
from shared.http.limits import install_limits
from shared.kafka import build_broker
from shared.kafka.connection import broker_security, require_login
from shared.kafka.failures import RetryPolicy
from shared.kafka.topic_check import check_topics
from shared.kafka.topology import service_usage
from shared.logs import configure_logging
from shared.settings import ServiceSettings

logger = logging.getLogger("songtor.service")

BackgroundTask = Callable[[], Awaitable[None]]


@dataclass
class ServiceRuntime:
    service: str
    settings: ServiceSettings
    registry: CollectorRegistry
    broker: KafkaBroker
    engine: AsyncEngine | None = None
    schema: ServiceSchema | None = None  # its tables and migrations, when it has a database
    # Long-running loops started once the broker is up (e.g. the outbox relay).
    background: list[BackgroundTask] = field(default_factory=list)
    # One-off steps run once the schema is the code's and before any consumer starts (e.g. a backfill
    # the consumers' writes depend on).
    on_start: list[BackgroundTask] = field(default_factory=list)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        if self.engine is None:
            raise RuntimeError(f"{self.service} has no database")
        return session_factory(self.engine)

    @cached_property
    def leases(self) -> BackgroundLeases:
        """For the background jobs that must run in one copy at a time when several copies of the
        service share its database: `runtime.leases.runs_alone(name=..., job=...)`."""
        if self.engine is None:
            raise RuntimeError(f"{self.service} has no database to hold its background leases in")
        return BackgroundLeases(engine=self.engine, service=self.service, registry=self.registry,
                                settings=self.settings.leases)


def create_runtime(*, service: str, settings: ServiceSettings, schema: ServiceSchema | None = None) -> ServiceRuntime:
    registry = CollectorRegistry()
    broker = build_broker(
        bootstrap_servers=settings.kafka.bootstrap_servers, service=service, registry=registry,
        security=broker_security(settings.kafka),
        linger_ms=settings.kafka.producer_linger_ms, compression=settings.kafka.producer_compression,
        retry=RetryPolicy.from_kafka(settings.kafka),
    )
    engine = make_engine(settings.database_url) if schema is not None else None
    return ServiceRuntime(
        service=service, settings=settings, registry=registry, broker=broker, engine=engine, schema=schema
    )


_AUTH_RESPONSES = {
    401: {"description": "No token, or a token refused (expired, another issuer or audience, bad signature); "
          "the WWW-Authenticate header says why"},
    403: {"description": "The token's roles may not use this route, or its scope does not allow this change"},
    404: {"description": "No such record, or one outside the caller's provinces, org units or agency (the two "
          "answer alike, so a record's existence is not revealed)"},
    422: {"description": "Fields to correct, or a body JSON cannot hold (e.g. a number thousands of digits long)"},
    503: {"description": "The identity provider cannot be reached to check the token"},
}


def create_app(
    runtime: ServiceRuntime, *, title: str, description: str, routers: Sequence[APIRouter], pages: bool = False,
) -> FastAPI:
    """`pages`: the service serves browser pages, so it also serves the sign-in routes (/auth)."""
    oidc = runtime.settings.oidc
    if not oidc.issuer:
        raise RuntimeError(
            "SONGTOR_OIDC_ISSUER is not set: every route but /health, /metrics and the contracts needs a token "
            "from an OpenID Connect issuer, so the service does not start without one (docs/identity.md)."
        )
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        settings = runtime.settings
        require_login(settings.kafka)  # before anything is created: a service without its login does not start
        if runtime.engine is not None and runtime.schema is not None:
            # A new database is made by the migrations; one behind the code is upgraded only in local
            # and test, and refused elsewhere with the command to run (docs/operations.md#schema-migrations).
            await prepare_schema(engine=runtime.engine, schema=runtime.schema, development=settings.privacy.development)
        for step in runtime.on_start:
            await step()
        await check_topics(kafka=settings.kafka, names=list(service_usage(settings.kafka, runtime.service).checks),
                           service=runtime.service)
        await runtime.broker.start()
        tasks = [asyncio.create_task(job(), name=f"{runtime.service}-background") for job in runtime.background]
        logger.info("%s started", runtime.service)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await runtime.broker.stop()
            if runtime.engine is not None:
                await runtime.engine.dispose()
            logger.info("%s stopped", runtime.service)

    docs = runtime.settings.api_docs
    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan,
                  docs_url="/docs" if docs else None, redoc_url=None)
    app.middleware("http")(http_latency_middleware(service=runtime.service, registry=runtime.registry))
    install_limits(app, max_body_bytes=runtime.settings.max_body_bytes)
    app.include_router(ops_router(service=runtime.service, broker=runtime.broker, registry=runtime.registry))
    kafka = runtime.settings.kafka
    app.include_router(asyncapi_router(document=build_asyncapi(
        topics=kafka.topics, partitions=kafka.partitions, bootstrap_servers=kafka.bootstrap_servers,
    )))
    if pages:
        app.include_router(browser_login_router())
    if runtime.engine is not None:
        routers = [*routers, audit_router(sessions=runtime.sessions,
                                          person_ref_key=runtime.settings.privacy.person_ref_key)]
        install_audit(app, sessions=runtime.sessions)
    document_answers(routers, service=runtime.service)
    for router in routers:
        app.include_router(router, dependencies=[Depends(caller)], responses=_AUTH_RESPONSES)
    install_auth(app, context=AuthContext(service=runtime.service, verifier=TokenVerifier(oidc)))
    return app


def serve(app_factory: Callable[[], FastAPI], settings: ServiceSettings, *, service: str) -> None:
    """Run one service in the foreground until SIGINT/SIGTERM."""
    configure_logging(service=service, level=settings.log_level)
    config = uvicorn.Config(
        app_factory(),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # keep our JSON log lines
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    # The port is bound before the lifespan starts the consumers: a service whose port is taken
    # exits (code 3) before it has read a record, instead of consuming until its shutdown ends.
    socket = config.bind_socket()
    uvicorn.Server(config).run(sockets=[socket])
