"""The routing consumer. Publishes every referral of an intake (acks=all) before returning,
so the intake's offset is committed only once all of them are durable. A crash in between
replays the intake; the derived event ids let every consumer ignore the repeats."""

import asyncio
import logging
from datetime import UTC, datetime

from faststream.kafka import KafkaBroker

from routing.domain import route_intake
from shared.catalog import NeedCatalog
from shared.contracts import IntakeSubmittedV1
from shared.kafka import reliable_subscriber_options
from shared.settings import KafkaSettings

logger = logging.getLogger("songtor.routing")


def register_routing_handlers(*, broker: KafkaBroker, kafka: KafkaSettings, catalog: NeedCatalog) -> None:
    topics = kafka.topics

    @broker.subscriber(topics.intake_submitted, **reliable_subscriber_options(group_id=kafka.group("routing")))
    async def on_intake_submitted(intake: IntakeSubmittedV1) -> None:
        outgoing = route_intake(intake=intake, catalog=catalog, routed_at=datetime.now(UTC))
        await asyncio.gather(
            *(
                broker.publish(
                    item.event,
                    topics.referral_assigned(item.event.agency)
                    if item.topic_kind == "assigned"
                    else topics.referral_unroutable,
                    key=item.key.encode(),
                )
                for item in outgoing
            )
        )
        logger.info("routed %d needs", len(outgoing), extra={"correlation_id": intake.intake_id})
