"""Kafka helpers shared by every service: broker factory, dead-letter middleware, topic admin."""

from shared.kafka.broker import build_broker, reliable_subscriber_options
from shared.kafka.dead_letter import DeadLetterMiddleware, DeadLetterHeaders

__all__ = [
    "DeadLetterHeaders",
    "DeadLetterMiddleware",
    "build_broker",
    "reliable_subscriber_options",
]
