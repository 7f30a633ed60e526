"""The routing consumer: decide every need of an intake, record the decisions and queue their
events in one transaction (inbox + outbox), then publish. A crash anywhere replays the intake
or publishes what was queued; derived ids make both harmless downstream."""

import logging
from datetime import UTC, datetime

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from routing import repository
from routing.domain import announcements, route_intake
from shared.catalog import NeedCatalog
from shared.contracts import IntakeSubmittedV1
from shared.db import OutboxRelay, add_to_outbox, apply_once
from shared.kafka import reliable_subscriber_options
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

    @broker.subscriber(topics.intake_submitted, **reliable_subscriber_options(group_id=kafka.group("routing")))
    async def on_intake_submitted(intake: IntakeSubmittedV1) -> None:
        routed_at = datetime.now(UTC)
        decisions = route_intake(intake=intake, catalog=catalog, routed_at=routed_at)

        async def effect(session: AsyncSession) -> None:
            for routed in decisions:
                repository.add_decision(
                    session, routed=routed, intake=intake, catalog_version=catalog.version, decided_at=routed_at
                )
                for topic, event in announcements(routed.event, topics=topics):
                    add_to_outbox(session, topic=topic, key=routed.referral_id, event=event)

        await apply_once(sessions, consumer="routing", event_id=intake.event_id, effect=effect)
        await relay.flush()
        logger.info("routed %d needs", len(decisions), extra={"correlation_id": intake.intake_id})
