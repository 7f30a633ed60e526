"""Handlers against FastStream's in-memory broker: routing fan-out and dead-lettering."""

from typing import Any

from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shared.kafka import DeadLetterHeaders
from tests.support.examples import intake_event


async def test_routing_publishes_one_assignment_per_need_on_the_agency_topics(routing_broker):
    broker, topics, relay = routing_broker
    received: dict[str, list[dict]] = {}

    def capture_on(topic: str) -> None:
        @broker.subscriber(topic)
        async def capture(body: dict) -> None:
            received.setdefault(topic, []).append(body)

    for topic in topics.all_assigned():
        capture_on(topic)

    async with TestKafkaBroker(broker) as test_broker:
        intake = intake_event()
        await test_broker.publish(intake, topics.intake_submitted, key=intake.intake_id.encode())
        await relay.flush()

    assert {t.removeprefix("unit.referral.assigned."): len(v) for t, v in received.items()} == {
        "employment": 1, "skills": 1, "social_security": 2,
    }


async def test_a_malformed_intake_goes_to_the_dead_letter_topic_with_its_reason(routing_broker):
    broker, topics, _relay = routing_broker
    dead: list = []

    @broker.subscriber(f"{topics.intake_submitted}.dlq")
    async def capture(body: Any, message: KafkaMessage) -> None:
        dead.append(message.headers)

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(b'{"not": "an intake"}', topics.intake_submitted)

    assert len(dead) == 1
    headers = dead[0]
    assert headers[DeadLetterHeaders.ORIGINAL_TOPIC] == topics.intake_submitted
    assert headers[DeadLetterHeaders.CONSUMER_GROUP] == "songtor.routing"
    assert headers[DeadLetterHeaders.EXCEPTION_CLASS]
    assert "intake_id" in headers[DeadLetterHeaders.EXCEPTION_MESSAGE]
