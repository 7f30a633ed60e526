"""Reporting hears of overdue referrals from referral.overdue, so the ops view can count them
without reaching into the agencies' database (each service keeps its own)."""

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.ops import store
from shared.contracts import ReferralOverdueV1
from shared.db import apply_once
from shared.kafka import reliable_subscriber_options
from shared.settings import KafkaSettings

CONSUMER = "reporting.overdue"  # listed in reporting.ops.groups


def register_overdue_handler(
    *, broker: KafkaBroker, kafka: KafkaSettings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    @broker.subscriber(kafka.topics.referral_overdue, **reliable_subscriber_options(group_id=kafka.group(CONSUMER)))
    async def on_referral_overdue(event: ReferralOverdueV1) -> None:
        async def effect(session: AsyncSession) -> None:
            await store.add_overdue(session, event=event)

        await apply_once(sessions, consumer=CONSUMER, event_id=event.event_id, effect=effect)
