"""Kafka helpers shared by every service: broker factory, dead-letter middleware, topic admin."""

from shared.kafka.broker import build_broker, reliable_subscriber_options
from shared.kafka.dead_letter import DeadLetterMiddleware, DeadLetterHeaders
from shared.kafka.failures import InvalidMessage, RetryPolicy

__all__ = [
    "DeadLetterHeaders",
    "DeadLetterMiddleware",
    "InvalidMessage",
    "RetryPolicy",
    "build_broker",
    "reliable_subscriber_options",
]
