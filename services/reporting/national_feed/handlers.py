"""The feed's consumers: consumer groups of their own (reporting.feed.*), so that the feed's
backlog shows as its own lag and a fault in it never holds the forms back. Each batch is applied
once through the inbox, in one transaction with the records it makes."""

from collections.abc import Awaitable, Callable
from typing import Any

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.national_feed import ledger
from reporting.national_feed.ledger import FeedRules
from shared.contracts import EventEnvelope, IntakeSubmittedV2, ReferralAssignedV2, ReferralUpdatedV2
from shared.contracts.person import PersonConsentWithdrawnV1
from shared.db import apply_batch_once
from shared.kafka.batches import batch_subscriber
from shared.settings import KafkaSettings

INTAKES, ASSIGNED, UPDATED, CONSENTS = ("reporting.feed.intakes", "reporting.feed.assigned", "reporting.feed.updated",
                                        "reporting.feed.consents")
FEED_CONSUMERS = (INTAKES, ASSIGNED, UPDATED, CONSENTS)


def feed_effects(rules: FeedRules) -> dict[str, tuple[type[EventEnvelope], Callable[[AsyncSession, list[Any]], Awaitable[None]]]]:
    """Consumer name -> (event model, batch effect); the backfill applies the same effects."""
    return {
        INTAKES: (IntakeSubmittedV2, lambda session, events: ledger.on_intakes(session, intakes=events, rules=rules)),
        ASSIGNED: (ReferralAssignedV2, lambda session, events: ledger.on_assigned(session, events=events, rules=rules)),
        UPDATED: (ReferralUpdatedV2, lambda session, events: ledger.on_updated(session, events=events, rules=rules)),
        CONSENTS: (PersonConsentWithdrawnV1, lambda session, events: ledger.on_withdrawals(session, events=events)),
    }


def register_feed_handlers(*, broker: KafkaBroker, kafka: KafkaSettings, sessions: async_sessionmaker[AsyncSession],
                           rules: FeedRules) -> None:
    topics, effects = kafka.topics, feed_effects(rules)

    def subscribe(consumer: str, *topic_names: str, name: str) -> None:
        model, effect = effects[consumer]

        async def handle(events: list) -> None:
            await apply_batch_once(sessions, consumer=consumer, events=events, effect=effect)

        batch_subscriber(broker, *topic_names, group_id=kafka.group(consumer), model=model, handle=handle, name=name)

    subscribe(INTAKES, topics.intake_submitted, name="feed_on_intake_submitted")
    subscribe(ASSIGNED, *topics.all_assigned(), name="feed_on_referral_assigned")
    subscribe(UPDATED, topics.referral_updated, name="feed_on_referral_updated")
    subscribe(CONSENTS, topics.person_consents, name="feed_on_consent_withdrawn")
