"""Consumers that keep the intake's view of its referrals' statuses current.

Thin: parse (FastStream + the contract model), then apply once through the inbox. Least
knowledge: intake learns where a referral went from `referral.routed`, which carries no personal
data, never from the agencies' `referral.assigned.<agency>` topics (names, IDs, phones, addresses).
"""

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from intake import repository
from shared.contracts import NeedUnroutableV1, ReferralRoutedV1, ReferralUpdatedV1
from shared.db import apply_once
from shared.kafka import reliable_subscriber_options
from shared.settings import KafkaSettings

ASSIGNED_VERSION = 1  # the referral's first version is its routing outcome


def register_status_handlers(
    *, broker: KafkaBroker, kafka: KafkaSettings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    topics = kafka.topics

    async def record(consumer: str, event_id, transferred_from: str | None = None, **status) -> None:  # noqa: ANN001, ANN003
        async def effect(session: AsyncSession) -> None:
            if transferred_from:
                await repository.add_continuation(
                    session, referral_id=status["referral_id"], transferred_from=transferred_from
                )
            await repository.record_status(session, **status)

        await apply_once(sessions, consumer=consumer, event_id=event_id, effect=effect)

    def options(consumer: str) -> dict:
        return reliable_subscriber_options(group_id=kafka.group(consumer))

    @broker.subscriber(topics.referral_routed, **options("intake.routed"))
    async def on_referral_routed(event: ReferralRoutedV1) -> None:
        await record("intake.routed", event.event_id, transferred_from=event.transferred_from,
                     referral_id=event.referral_id, status="assigned", version=ASSIGNED_VERSION, agency=event.agency)

    @broker.subscriber(topics.referral_updated, **options("intake.updated"))
    async def on_referral_updated(event: ReferralUpdatedV1) -> None:
        await record("intake.updated", event.event_id, referral_id=event.referral_id,
                     status=event.status, version=event.version, agency=event.agency)

    @broker.subscriber(topics.referral_unroutable, **options("intake.unroutable"))
    async def on_need_unroutable(event: NeedUnroutableV1) -> None:
        await record("intake.unroutable", event.event_id, referral_id=event.referral_id,
                     status="unroutable", version=ASSIGNED_VERSION)
