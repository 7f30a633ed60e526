"""Reporting consumers: one consumer group per topic family, each effect applied once
through the inbox, on fact rows locked by the repository."""

from collections.abc import Callable
from zoneinfo import ZoneInfo

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting import projection, repository
from reporting.models import ReferralFact
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

    def options(consumer: str) -> dict:
        return reliable_subscriber_options(group_id=kafka.group(consumer))

    async def update_fact(consumer: str, event, change: Callable[[ReferralFact], None]) -> None:  # noqa: ANN001
        """Apply `change` to the event's referral fact, once."""

        async def effect(session: AsyncSession) -> None:
            fact = await repository.fact_for(session, referral_id=event.referral_id, intake_id=event.intake_id)
            change(fact)
            repository.save_fact(session, fact=fact)

        await apply_once(sessions, consumer=consumer, event_id=event.event_id, effect=effect)

    @broker.subscriber(topics.intake_submitted, **options("reporting.intakes"))
    async def on_intake_submitted(intake: IntakeSubmittedV1) -> None:
        async def effect(session: AsyncSession) -> None:
            await repository.remember_person(session, person_ref=intake.person_ref, full_name=intake.person.full_name,
                                             national_id=intake.person.national_id)
            for referral_id, need_code in projection.referred_needs(intake=intake, catalog=catalog):
                fact = await repository.fact_for(session, referral_id=referral_id, intake_id=intake.intake_id)
                projection.apply_intake(fact, intake=intake, need_code=need_code, zone=zone)
                repository.save_fact(session, fact=fact)
            services = projection.services_at_intake(intake=intake, catalog=catalog, zone=zone)
            await repository.add_service_facts(session, facts=services)

        await apply_once(sessions, consumer="reporting.intakes", event_id=intake.event_id, effect=effect)

    @broker.subscriber(*topics.all_assigned(), **options("reporting.assigned"))
    async def on_referral_assigned(event: ReferralAssignedV1) -> None:
        async def effect(session: AsyncSession) -> None:
            fact = await repository.fact_for(session, referral_id=event.referral_id, intake_id=event.intake_id)
            projection.apply_assigned(fact, event=event)
            if event.transferred_from and (origin := await repository.existing_fact(session, referral_id=event.transferred_from)):
                projection.inherit_intake(fact, origin=origin)
            repository.save_fact(session, fact=fact)

        await apply_once(sessions, consumer="reporting.assigned", event_id=event.event_id, effect=effect)

    @broker.subscriber(topics.referral_updated, **options("reporting.updated"))
    async def on_referral_updated(event: ReferralUpdatedV1) -> None:
        await update_fact("reporting.updated", event, lambda fact: projection.apply_updated(fact, event=event, zone=zone))

    @broker.subscriber(topics.referral_unroutable, **options("reporting.unroutable"))
    async def on_need_unroutable(event: NeedUnroutableV1) -> None:
        await update_fact(
            "reporting.unroutable", event, lambda fact: projection.apply_unroutable(fact, event=event, catalog=catalog)
        )
