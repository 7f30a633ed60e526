"""Reporting consumers: one consumer group per topic family, each event's effect (effects.py,
shared with the rebuild from the log) applied once through the inbox, on fact rows locked by
the repository."""

from zoneinfo import ZoneInfo

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting import effects
from shared.catalog import NeedCatalog
from shared.contracts import IntakeSubmittedV1, NeedUnroutableV1, ReferralAssignedV1, ReferralUpdatedV1
from shared.db import apply_once
from shared.kafka import reliable_subscriber_options
from shared.settings import KafkaSettings


def register_reporting_handlers(
    *,
    broker: KafkaBroker,
    kafka: KafkaSettings,
    sessions: async_sessionmaker[AsyncSession],
    catalog: NeedCatalog,
    zone: ZoneInfo,
) -> None:
    topics = kafka.topics
    families = effects.families(catalog=catalog, zone=zone)

    def options(consumer: str) -> dict:
        return reliable_subscriber_options(group_id=kafka.group(consumer))

    async def apply(consumer: str, event) -> None:  # noqa: ANN001
        family = families[consumer]
        await apply_once(sessions, consumer=consumer, event_id=event.event_id, effect=effects.effect_of(family, event))

    @broker.subscriber(topics.intake_submitted, **options(effects.INTAKES))
    async def on_intake_submitted(intake: IntakeSubmittedV1) -> None:
        await apply(effects.INTAKES, intake)

    @broker.subscriber(*topics.all_assigned(), **options(effects.ASSIGNED))
    async def on_referral_assigned(event: ReferralAssignedV1) -> None:
        await apply(effects.ASSIGNED, event)

    @broker.subscriber(topics.referral_updated, **options(effects.UPDATED))
    async def on_referral_updated(event: ReferralUpdatedV1) -> None:
        await apply(effects.UPDATED, event)

    @broker.subscriber(topics.referral_unroutable, **options(effects.UNROUTABLE))
    async def on_need_unroutable(event: NeedUnroutableV1) -> None:
        await apply(effects.UNROUTABLE, event)
