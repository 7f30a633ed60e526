"""Run a service's app inside the test process against the real broker and database."""

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from shared.kafka.topology import SERVICE_PRINCIPALS
from shared.settings import KafkaSettings
from tests.support.infrastructure import cluster


def kafka_settings(kafka_env: dict[str, str], *, service: str) -> KafkaSettings:
    """The test's namespace, logged in as the service's own principal."""
    kafka = cluster().login(SERVICE_PRINCIPALS[service], topic_prefix=kafka_env["KAFKA_TOPIC_PREFIX"],
                            group_prefix=kafka_env["KAFKA_GROUP_PREFIX"])
    kafka.partitions = int(kafka_env["KAFKA_PARTITIONS"])
    return kafka


def ops_login() -> dict:
    """ReportingSettings keywords for the ops view's own principal."""
    ops = SERVICE_PRINCIPALS["ops"]
    return {"ops_kafka_username": ops, "ops_kafka_password_file": cluster().password_file(ops)}


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan started (tables, topics, broker, background loops)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client
