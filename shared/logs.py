"""Structured JSON log lines. Personal data never goes into a log call: messages carry ids
(intake, referral, person_ref), never national IDs or names."""

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

# Set while a Kafka message is handled (shared.kafka.correlation); an explicit `extra` wins.
CORRELATION_ID: ContextVar[str | None] = ContextVar("correlation_id", default=None)


class JsonFormatter(logging.Formatter):
    def __init__(self, *, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in ("correlation_id", "referral_id", "event_id"):
            if (value := getattr(record, field, None)) is not None:
                entry[field] = value
        if "correlation_id" not in entry and (current := CORRELATION_ID.get()) is not None:
            entry["correlation_id"] = current
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(*, service: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service=service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel("WARNING")
