"""Reporting consumers: one consumer group per topic family, each write guarded by the inbox."""

from zoneinfo import ZoneInfo

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting import projection, repository
from shared.catalog import NeedCatalog
from shared.contracts import IntakeSubmittedV1, NeedUnroutableV1, ReferralAssignedV1, ReferralUpdatedV1
from shared.db import claim_event
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

    def options(name: str) -> dict:
        return reliable_subscriber_options(group_id=kafka.group(name))

    @broker.subscriber(topics.intake_submitted, **options("reporting.intakes"))
    async def on_intake_submitted(intake: IntakeSubmittedV1) -> None:
        async with sessions() as session:
            if await claim_event(session, consumer="reporting.intakes", event_id=intake.event_id):
                for referral_id, need_code in projection.referred_needs(intake=intake, catalog=catalog):
                    fact = await repository.fact_for(session, referral_id=referral_id, intake_id=intake.intake_id)
                    projection.apply_intake(fact, intake=intake, need_code=need_code, zone=zone)
                    repository.save_fact(session, fact=fact)
                await repository.add_service_facts(
                    session, facts=projection.services_at_intake(intake=intake, catalog=catalog, zone=zone)
                )
            await session.commit()

    @broker.subscriber(*topics.all_assigned(), **options("reporting.assigned"))
    async def on_referral_assigned(event: ReferralAssignedV1) -> None:
        async with sessions() as session:
            if await claim_event(session, consumer="reporting.assigned", event_id=event.event_id):
                fact = await repository.fact_for(session, referral_id=event.referral_id, intake_id=event.intake_id)
                projection.apply_assigned(fact, event=event)
                repository.save_fact(session, fact=fact)
            await session.commit()

    @broker.subscriber(topics.referral_updated, **options("reporting.updated"))
    async def on_referral_updated(event: ReferralUpdatedV1) -> None:
        async with sessions() as session:
            if await claim_event(session, consumer="reporting.updated", event_id=event.event_id):
                fact = await repository.fact_for(session, referral_id=event.referral_id, intake_id=event.intake_id)
                projection.apply_updated(fact, event=event, zone=zone)
                repository.save_fact(session, fact=fact)
            await session.commit()

    @broker.subscriber(topics.referral_unroutable, **options("reporting.unroutable"))
    async def on_need_unroutable(event: NeedUnroutableV1) -> None:
        async with sessions() as session:
            if await claim_event(session, consumer="reporting.unroutable", event_id=event.event_id):
                fact = await repository.fact_for(session, referral_id=event.referral_id, intake_id=event.intake_id)
                projection.apply_unroutable(fact, event=event, catalog=catalog)
                repository.save_fact(session, fact=fact)
            await session.commit()
