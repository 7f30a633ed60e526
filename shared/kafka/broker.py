"""The one way services build their Kafka broker, so the reliability rules hold everywhere."""

import logging
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.middlewares import AckPolicy
from faststream.security import BaseSecurity
from prometheus_client import CollectorRegistry

from shared.kafka.correlation import CorrelationMiddleware
from shared.kafka.dead_letter import DeadLetterDesk, DeadLetterMiddleware
from shared.kafka.failures import RetryPolicy
from shared.settings import KafkaSettings, bootstrap_hosts

_PRODUCER_DEFAULTS = KafkaSettings.model_fields


def build_broker(
    *,
    bootstrap_servers: str | list[str],
    service: str,
    registry: CollectorRegistry,
    logger: logging.Logger | None = None,
    security: BaseSecurity | None = None,
    linger_ms: int = _PRODUCER_DEFAULTS["producer_linger_ms"].default,
    compression: str = _PRODUCER_DEFAULTS["producer_compression"].default,
    retry: RetryPolicy | None = None,
) -> KafkaBroker:
    """A broker whose producer is idempotent (acks=all) and whose consumers dead-letter poison.

    aiokafka defaults to acks=1 without idempotence: a leader crash can lose an acknowledged
    message, which for a referral means a person silently dropped.
    `linger_ms`, `compression`: KafkaSettings.producer_linger_ms and producer_compression.
    `retry`: what the consumers do with a failed message (RetryPolicy.from_kafka; its defaults if None).
    """
    desk = DeadLetterDesk(service=service, registry=registry,
                          retry=retry or RetryPolicy.from_kafka(KafkaSettings.model_construct()))
    dead_letters = DeadLetterMiddleware(desk=desk)
    logger = logger or logging.getLogger(f"songtor.{service}.kafka")
    logger.addFilter(_drop_topic_creation_notice)
    prometheus = KafkaPrometheusMiddleware(registry=registry, app_name=service, metrics_prefix="songtor")
    if isinstance(bootstrap_servers, str):  # FastStream would take "a:1,b:2" as one host
        bootstrap_servers = bootstrap_hosts(bootstrap_servers)
    broker = KafkaBroker(
        bootstrap_servers,
        client_id=f"songtor-{service}",
        enable_idempotence=True,
        acks="all",
        linger_ms=linger_ms,
        compression_type=None if compression == "none" else compression,
        # Outermost first: the correlation id is set for everything inside, including the
        # dead-letter decision; dead-lettering wraps the metrics so that failures are still counted.
        middlewares=(CorrelationMiddleware, dead_letters, prometheus),
        logger=logger,
        # FastStream's own "Received" / "Processed" lines, one pair per batch, say less than the
        # batch runner's "handled <event>" lines: kept for debugging, not written at INFO.
        log_level=logging.DEBUG,
        graceful_timeout=15.0,
        security=security,
        # Topics are the set-up's (shared/kafka/topology.py): FastStream would otherwise try to create
        # a missing one at subscriber start, with one partition, and no login here may create.
        allow_auto_create_topics=False,
    )
    # The batched subscribers dead-letter through the same desk (shared/kafka/batches.py).
    broker.context.set_global(DEAD_LETTER_DESK, desk)
    return broker


DEAD_LETTER_DESK = "songtor_dead_letter_desk"


def _drop_topic_creation_notice(record: logging.LogRecord) -> bool:
    """FastStream warns at every subscriber start that it creates no topics; a service has checked
    its topics before (shared/kafka/topic_check.py), so the warning would only mislead an operator."""
    return not str(record.msg).startswith("Auto create topics is disabled")


def reliable_subscriber_options(*, group_id: str) -> dict[str, Any]:
    """Options for every subscriber: commit only after the handler's effect is durable.

    FastStream's default commits before the handler (at-most-once). With NACK_ON_ERROR the
    offset is committed after success, and a failure seeks back so the message is retried;
    the dead-letter middleware decides, before that, whether it is retried (after a backoff) or
    dead-lettered (shared/kafka/failures.py).
    """
    return {
        "group_id": group_id,
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "auto_offset_reset": "earliest",
        "max_poll_records": 100,
    }
