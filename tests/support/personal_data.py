"""Looking for personal data in clear where it must not be: every record of every topic of a test's
namespace, every row of every table of a service's database."""

import asyncio
import json

from sqlalchemy import create_engine, inspect, text

from shared.topics import Topics
from tests.support.kafka_io import read_to_end


def clear_in(blob: bytes, secrets: set[str]) -> set[str]:
    """The secrets in `blob`, raw UTF-8 or JSON-escaped (\\u0e2a...)."""
    decoded = blob.decode("utf-8", errors="replace")
    return {s for s in secrets if s in decoded or json.dumps(s)[1:-1] in decoded}


def records_of(kafka_env: dict[str, str], topic: str) -> list:
    return asyncio.run(read_to_end(kafka_env["KAFKA_BOOTSTRAP_SERVERS"], topic))


def record_bytes(record) -> bytes:  # noqa: ANN001
    return b"".join([record.key or b"", record.value or b"",
                     *(name.encode() + value for name, value in (record.headers or ()))])


def topics_holding(kafka_env: dict[str, str], secrets: set[str]) -> dict[str, int]:
    """Topic -> how many records hold one of `secrets` in clear (empty: none); and how many were read."""
    found, read = {}, 0
    for topic in Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"]).all_topics():
        for record in records_of(kafka_env, topic):
            read += 1
            if clear_in(record_bytes(record), secrets):
                found[topic] = found.get(topic, 0) + 1
    found["(records read)"] = read
    return found


def database_rows(url: str) -> dict[str, bytes]:
    """Every table of a service's database, each as the bytes of all its rows."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = inspect(connection).get_table_names()
            return {table: "\n".join(repr(tuple(row)) for row in connection.execute(text(f'SELECT * FROM "{table}"')))
                    .encode() for table in tables}
    finally:
        engine.dispose()


def tables_holding(url: str, secrets: set[str]) -> list[str]:
    return [table for table, rows in database_rows(url).items() if clear_in(rows, secrets)]


def database_of(service) -> str:  # noqa: ANN001
    return next(value for key, value in service.env.items() if key.endswith("_DATABASE_URL"))
