"""Consumers that keep the intake's view of its referrals' statuses current.

Thin: decode (the batched subscriber and the contract model), then apply each batch once through
the inbox (statuses.py). Least knowledge: intake learns where a referral went from
`referral.routed`, which carries no personal data, never from the agencies'
`referral.assigned.<agency>` topics (names, IDs, phones, addresses).
"""

from collections.abc import Callable

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from intake import repository
from intake.statuses import StatusChange, record_statuses
from shared.contracts import EventEnvelope, NeedUnroutableV1, ReferralRoutedV1, ReferralUpdatedV2
from shared.db import apply_batch_once
from shared.kafka.batches import batch_subscriber
from shared.settings import KafkaSettings

ASSIGNED_VERSION = 1  # the referral's first version is its routing outcome


def routed_change(event: ReferralRoutedV1) -> StatusChange:
    return StatusChange(referral_id=event.referral_id, status="assigned", version=ASSIGNED_VERSION, agency=event.agency)


def updated_change(event: ReferralUpdatedV2) -> StatusChange:
    return StatusChange(referral_id=event.referral_id, status=event.status, version=event.version, agency=event.agency)


def unroutable_change(event: NeedUnroutableV1) -> StatusChange:
    return StatusChange(referral_id=event.referral_id, status="unroutable", version=ASSIGNED_VERSION)


def register_status_handlers(
    *, broker: KafkaBroker, kafka: KafkaSettings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    topics = kafka.topics

    def subscribe(topic: str, *, consumer: str, model: type[EventEnvelope],
                  change_of: Callable[..., StatusChange], name: str) -> None:
        async def effect(session: AsyncSession, events: list) -> None:
            for event in events:
                # A transfer's continuation is shown with the intake of the referral it replaces.
                if transferred_from := getattr(event, "transferred_from", None):
                    await repository.add_continuation(session, referral_id=event.referral_id,
                                                      transferred_from=transferred_from)
            await record_statuses(session, changes=[change_of(event) for event in events])

        async def handle(events: list) -> None:
            await apply_batch_once(sessions, consumer=consumer, events=events, effect=effect)

        batch_subscriber(broker, topic, group_id=kafka.group(consumer), model=model, handle=handle, name=name)

    subscribe(topics.referral_routed, consumer="intake.routed", model=ReferralRoutedV1,
              change_of=routed_change, name="on_referral_routed")
    subscribe(topics.referral_updated, consumer="intake.updated", model=ReferralUpdatedV2,
              change_of=updated_change, name="on_referral_updated")
    subscribe(topics.referral_unroutable, consumer="intake.unroutable", model=NeedUnroutableV1,
              change_of=unroutable_change, name="on_need_unroutable")
