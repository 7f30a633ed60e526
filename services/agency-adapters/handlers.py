"""One consumer per agency, each in its own consumer group, so every agency reads at its own
pace and one agency's backlog never holds up another's."""

import logging
from datetime import UTC, datetime

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agency_adapters import lifecycle, repository
from agency_adapters.webhooks import store as webhook_store
from shared.agencies import AGENCIES, Agency
from shared.contracts import ReferralAssignedV1
from shared.db import OutboxRelay, add_to_outbox, apply_once
from shared.kafka import reliable_subscriber_options
from shared.settings import KafkaSettings

logger = logging.getLogger("songtor.agency")


def register_agency_consumers(
    *,
    broker: KafkaBroker,
    kafka: KafkaSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    agencies: tuple[Agency, ...] = AGENCIES,
    webhook_agencies: frozenset[str] = frozenset(),
) -> None:
    for agency in agencies:
        _register_one(broker=broker, kafka=kafka, sessions=sessions, relay=relay, agency=agency,
                      by_webhook=agency in webhook_agencies)


def _register_one(
    *,
    broker: KafkaBroker,
    kafka: KafkaSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    agency: Agency,
    by_webhook: bool,
) -> None:
    topic = kafka.topics.referral_assigned(agency)
    consumer = f"agency.{agency}"

    async def on_referral_assigned(event: ReferralAssignedV1) -> None:
        if event.agency != agency:
            raise ValueError(f"referral for agency '{event.agency}' arrived on {topic}")
        now = datetime.now(UTC)

        async def effect(session: AsyncSession) -> None:
            repository.add_received(session, event=event, received_at=now)
            receipt = lifecycle.updated_event(
                referral_id=event.referral_id,
                intake_id=event.intake_id,
                agency=agency,
                status="received",
                previous_status="assigned",
                version=repository.RECEIVED_VERSION,
                actor="system",
                occurred_at=now,
            )
            add_to_outbox(session, topic=kafka.topics.referral_updated, key=event.referral_id, event=receipt)
            if by_webhook:  # stored with the referral, so a crash can never lose the push
                webhook_store.add_pending(session, referral_id=event.referral_id, agency=agency, at=now)

        await apply_once(sessions, consumer=consumer, event_id=event.event_id, effect=effect)
        # Also after a redelivery: a crash may have come between the commit and the publish.
        await relay.flush()
        logger.info("referral received", extra={"correlation_id": event.intake_id, "referral_id": event.referral_id})

    # FastStream names handlers after the function: one name per agency keeps metrics apart.
    on_referral_assigned.__name__ = f"on_referral_assigned_{agency}"
    broker.subscriber(topic, **reliable_subscriber_options(group_id=kafka.group(consumer)))(on_referral_assigned)
