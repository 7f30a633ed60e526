"""Reporting hears of overdue referrals from referral.overdue, so the ops view can count them
without reaching into the agencies' database (each service keeps its own). Read in batches,
each stored with one statement and applied once through the inbox."""

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.ops import store
from shared.contracts import ReferralOverdueV1
from shared.db import apply_batch_once
from shared.kafka.batches import batch_subscriber
from shared.settings import KafkaSettings

CONSUMER = "reporting.overdue"  # listed in reporting.ops.groups


def register_overdue_handler(
    *, broker: KafkaBroker, kafka: KafkaSettings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async def effect(session: AsyncSession, events: list[ReferralOverdueV1]) -> None:
        await store.add_overdue(session, events=events)

    async def handle(events: list[ReferralOverdueV1]) -> None:
        await apply_batch_once(sessions, consumer=CONSUMER, events=events, effect=effect)

    batch_subscriber(broker, kafka.topics.referral_overdue, group_id=kafka.group(CONSUMER), model=ReferralOverdueV1,
                     handle=handle, name="on_referral_overdue")
