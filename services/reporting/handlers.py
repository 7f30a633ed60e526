"""Reporting consumers: one consumer group per topic family, reading batches; each batch's
effect (effects.py, shared with the rebuild from the log) applied once through the inbox, in one
transaction, on fact rows the effect locks together."""

from zoneinfo import ZoneInfo

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting import effects
from shared.catalog import NeedCatalog
from shared.db import apply_batch_once
from shared.kafka.batches import batch_subscriber
from shared.settings import KafkaSettings
from shared.privacy.key_copies import subscribe_key_copies


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

    def subscribe(consumer: str, *topic_names: str, name: str) -> None:
        family = families[consumer]

        async def handle(events: list) -> None:
            await apply_batch_once(sessions, consumer=family.consumer, events=events, effect=family.apply_batch)

        batch_subscriber(broker, *topic_names, group_id=kafka.group(consumer), model=family.model, handle=handle,
                         name=name)

    subscribe(effects.INTAKES, topics.intake_submitted, name="on_intake_submitted")
    subscribe(effects.ASSIGNED, *topics.all_assigned(), name="on_referral_assigned")
    subscribe(effects.UPDATED, topics.referral_updated, name="on_referral_updated")
    subscribe(effects.UNROUTABLE, topics.referral_unroutable, name="on_need_unroutable")
    # The person keys open the names the forms list (report_people keeps them sealed).
    subscribe_key_copies(broker=broker, kafka=kafka, sessions=sessions, group=effects.KEYS)
