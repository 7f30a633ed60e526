"""The routing consumer: decide every need of each intake in a batch, record the decisions and
queue their events in one transaction (inbox + outbox), then wake the relay. A crash anywhere
replays the batch or publishes what was queued; derived ids make both harmless downstream."""

import logging
from datetime import UTC, datetime

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from routing import repository
from routing.domain import announcements, route_intake
from shared.catalog import NeedCatalog
from shared.contracts import IntakeSubmittedV2
from shared.db import OutboxRelay, add_to_outbox, apply_batch_once
from shared.kafka.batches import batch_subscriber
from shared.privacy.erasures import subscribe_erasures
from shared.settings import KafkaSettings

logger = logging.getLogger("songtor.routing")


def register_routing_handlers(
    *,
    broker: KafkaBroker,
    kafka: KafkaSettings,
    catalog: NeedCatalog,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
) -> None:
    topics = kafka.topics

    async def effect(session: AsyncSession, intakes: list[IntakeSubmittedV2]) -> None:
        routed_at = datetime.now(UTC)
        for intake in intakes:
            for routed in route_intake(intake=intake, catalog=catalog, routed_at=routed_at):
                repository.add_decision(
                    session, routed=routed, intake=intake, catalog_version=catalog.version, decided_at=routed_at
                )
                for topic, event in announcements(routed.event, topics=topics):
                    add_to_outbox(session, topic=topic, key=routed.referral_id, event=event)

    async def on_intakes_submitted(intakes: list[IntakeSubmittedV2]) -> None:
        applied = await apply_batch_once(sessions, consumer="routing", events=intakes, effect=effect)
        # Also after a redelivery: a crash may have come between the commit and the publish.
        relay.wake()
        logger.info("routed %d intakes (%d new)", len(intakes), len(applied))

    batch_subscriber(broker, topics.intake_submitted, group_id=kafka.group("routing"), model=IntakeSubmittedV2,
                     handle=on_intakes_submitted, name="on_intake_submitted")
    subscribe_erasures(broker=broker, kafka=kafka, sessions=sessions, relay=relay, service="routing",
                       group="routing.erasures", erase=repository.erase_person)
