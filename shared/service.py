"""What every service process is made of, assembled the same way in each composition root:
a Prometheus registry, the Kafka broker, an optional database, and a FastAPI app whose
lifespan starts and stops them in order."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import uvicorn
from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import create_tables, make_engine, session_factory
from shared.contracts.asyncapi import build_asyncapi
from shared.http import asyncapi_router, http_latency_middleware, ops_router
from shared.kafka import build_broker, ensure_topics
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
    tables: Sequence[Table] = ()
    # Long-running loops started once the broker is up (e.g. the outbox relay).
    background: list[BackgroundTask] = field(default_factory=list)
    # One-off steps run once the tables exist and before any consumer starts (e.g. a backfill
    # the consumers' writes depend on).
    on_start: list[BackgroundTask] = field(default_factory=list)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        if self.engine is None:
            raise RuntimeError(f"{self.service} has no database")
        return session_factory(self.engine)


def create_runtime(*, service: str, settings: ServiceSettings, tables: Sequence[Table] = ()) -> ServiceRuntime:
    registry = CollectorRegistry()
    broker = build_broker(
        bootstrap_servers=settings.kafka.bootstrap_servers, service=service, registry=registry
    )
    engine = make_engine(settings.database_url) if tables else None
    return ServiceRuntime(
        service=service, settings=settings, registry=registry, broker=broker, engine=engine, tables=tables
    )


def create_app(runtime: ServiceRuntime, *, title: str, description: str, routers: Sequence[APIRouter]) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        settings = runtime.settings
        if runtime.engine is not None:
            await create_tables(runtime.engine, runtime.tables)
        for step in runtime.on_start:
            await step()
        await ensure_topics(
            bootstrap_servers=settings.kafka.bootstrap_servers,
            topics=settings.kafka.topics.all_topics(),
            partitions=settings.kafka.partitions,
        )
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

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.middleware("http")(http_latency_middleware(service=runtime.service, registry=runtime.registry))
    app.include_router(ops_router(service=runtime.service, broker=runtime.broker, registry=runtime.registry))
    kafka = runtime.settings.kafka
    app.include_router(asyncapi_router(document=build_asyncapi(
        topics=kafka.topics, partitions=kafka.partitions, bootstrap_servers=kafka.bootstrap_servers,
    )))
    for router in routers:
        app.include_router(router)
    return app


def serve(app_factory: Callable[[], FastAPI], settings: ServiceSettings, *, service: str) -> None:
    """Run one service in the foreground until SIGINT/SIGTERM."""
    configure_logging(service=service, level=settings.log_level)
    uvicorn.run(
        app_factory(),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # keep our JSON log lines
        access_log=False,
        timeout_graceful_shutdown=10,
    )
