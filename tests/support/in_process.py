"""Run a service's app inside the test process against the real broker and database."""

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from shared.settings import KafkaSettings


def kafka_settings(kafka_env: dict[str, str]) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=kafka_env["KAFKA_BOOTSTRAP_SERVERS"],
        topic_prefix=kafka_env["KAFKA_TOPIC_PREFIX"],
        group_prefix=kafka_env["KAFKA_GROUP_PREFIX"],
        partitions=int(kafka_env["KAFKA_PARTITIONS"]),
    )


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan started (tables, topics, broker, background loops)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client
