"""Consumers that keep the intake's view of its referrals' statuses current.

Thin: parse (FastStream + the contract model), claim the event in the inbox, apply, commit.
"""

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from intake import repository
from shared.contracts import NeedUnroutableV1, ReferralAssignedV1, ReferralUpdatedV1
from shared.db import claim_event
from shared.kafka import reliable_subscriber_options
from shared.settings import KafkaSettings

ASSIGNED_VERSION = 1  # the referral's first version is its routing outcome


def register_status_handlers(
    *, broker: KafkaBroker, kafka: KafkaSettings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    topics = kafka.topics

    @broker.subscriber(
        *topics.all_assigned(), **reliable_subscriber_options(group_id=kafka.group("intake.assigned"))
    )
    async def on_referral_assigned(event: ReferralAssignedV1) -> None:
        async with sessions() as session:
            if await claim_event(session, consumer="intake.assigned", event_id=event.event_id):
                await repository.record_status(
                    session, referral_id=event.referral_id, status="assigned",
                    version=ASSIGNED_VERSION, agency=event.agency,
                )
            await session.commit()

    @broker.subscriber(
        topics.referral_updated, **reliable_subscriber_options(group_id=kafka.group("intake.updated"))
    )
    async def on_referral_updated(event: ReferralUpdatedV1) -> None:
        async with sessions() as session:
            if await claim_event(session, consumer="intake.updated", event_id=event.event_id):
                await repository.record_status(
                    session, referral_id=event.referral_id, status=event.status,
                    version=event.version, agency=event.agency,
                )
            await session.commit()

    @broker.subscriber(
        topics.referral_unroutable, **reliable_subscriber_options(group_id=kafka.group("intake.unroutable"))
    )
    async def on_need_unroutable(event: NeedUnroutableV1) -> None:
        async with sessions() as session:
            if await claim_event(session, consumer="intake.unroutable", event_id=event.event_id):
                await repository.record_status(
                    session, referral_id=event.referral_id, status="unroutable", version=ASSIGNED_VERSION
                )
            await session.commit()
