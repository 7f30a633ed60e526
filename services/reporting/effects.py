"""What each event does to the reporting database, for the live consumers (handlers.py) and the
rebuild from the log (rebuild.py) alike: a rebuilt database equals the live one because both
go through these functions, each run once per event through the inbox (`apply_once`).

Events arrive from several topics and partitions in no guaranteed order, and a rebuild reads
them in yet another order, so every effect merges (projection.py) and none depends on another
having run first. The two places where that takes care: a transferred referral inherits its
intake from the referral it continues, whichever of the two arrives first (see
`_carry_intake_to_transfers`); and a person's name is the one of their latest intake by
received time, not by the time reporting happened to read it.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from reporting import projection, registry_stamps, repository, rollups
from reporting.models import ReferralFact
from shared import ids
from shared.agencies import AGENCIES
from shared.catalog import NeedCatalog
from shared.contracts import EventEnvelope, IntakeSubmittedV1, NeedUnroutableV1, ReferralAssignedV1, ReferralUpdatedV1
from shared.topics import Topics

INTAKES, ASSIGNED, UPDATED, UNROUTABLE = "reporting.intakes", "reporting.assigned", "reporting.updated", "reporting.unroutable"
TRANSFERRED = "transferred"


async def intake_submitted(session: AsyncSession, *, intake: IntakeSubmittedV1, catalog: NeedCatalog,
                           zone: ZoneInfo) -> None:
    await repository.remember_person(session, person_ref=intake.person_ref, full_name=intake.person.full_name,
                                     national_id=intake.person.national_id, as_of=intake.received_at)
    stamp = await registry_stamps.stamp_at(session, person_ref=intake.person_ref, received_at=intake.received_at)
    for referral_id, need_code in projection.referred_needs(intake=intake, catalog=catalog):
        fact = await repository.fact_for(session, referral_id=referral_id, intake_id=intake.intake_id)
        projection.apply_intake(fact, intake=intake, need_code=need_code, zone=zone, stamp=stamp)
        repository.save_fact(session, fact=fact)
        await _carry_intake_to_transfers(session, origin=fact)
    services = projection.services_at_intake(intake=intake, catalog=catalog, zone=zone, stamp=stamp)
    await repository.add_service_facts(session, facts=services)


async def referral_assigned(session: AsyncSession, *, event: ReferralAssignedV1) -> None:
    fact = await repository.fact_for(session, referral_id=event.referral_id, intake_id=event.intake_id)
    projection.apply_assigned(fact, event=event)
    if event.transferred_from:
        # Locked, not just read: an intake being applied to the origin right now would otherwise
        # be invisible here, and neither side would pass it on to this continuation.
        origin = await repository.locked_fact(session, referral_id=event.transferred_from)
        if origin is not None and origin.has_intake:
            projection.inherit_intake(fact, origin=origin)
    repository.save_fact(session, fact=fact)
    await _carry_intake_to_transfers(session, origin=fact)


async def referral_updated(session: AsyncSession, *, event: ReferralUpdatedV1, zone: ZoneInfo) -> None:
    fact = await repository.fact_for(session, referral_id=event.referral_id, intake_id=event.intake_id)
    projection.apply_updated(fact, event=event, zone=zone)
    repository.save_fact(session, fact=fact)
    await _carry_intake_to_transfers(session, origin=fact)


async def need_unroutable(session: AsyncSession, *, event: NeedUnroutableV1, catalog: NeedCatalog) -> None:
    fact = await repository.fact_for(session, referral_id=event.referral_id, intake_id=event.intake_id)
    projection.apply_unroutable(fact, event=event, catalog=catalog)
    repository.save_fact(session, fact=fact)


async def _carry_intake_to_transfers(session: AsyncSession, *, origin: ReferralFact) -> None:
    """A continuation whose assignment was applied before its origin knew its intake inherited
    nothing; it gets the intake now. Continuation ids derive from the origin and the agency, so
    only a transferred fact costs the four look-ups, and a chain of transfers is followed."""
    if not origin.has_intake or origin.status != TRANSFERRED:
        return
    for agency in AGENCIES:
        child_id = ids.transferred_referral_id(referral_id=origin.referral_id, to_agency=agency)
        child = await repository.locked_fact(session, referral_id=child_id)
        if child is not None and not child.has_intake:
            projection.inherit_intake(child, origin=origin)
            repository.save_fact(session, fact=child)
            await _carry_intake_to_transfers(session, origin=child)


Effect = Callable[[AsyncSession, Any], Awaitable[None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Family:
    """The events of one consumer group: its inbox name, its event model and its effect."""

    consumer: str
    model: type[EventEnvelope]
    apply: Effect


def families(*, catalog: NeedCatalog, zone: ZoneInfo) -> dict[str, Family]:
    """Keyed by consumer name; `apply(session, event)`."""

    def bind(function: Callable[..., Awaitable[None]], name: str, **context: object) -> Effect:
        async def apply(session: AsyncSession, event: Any) -> None:
            await function(session, **{name: event}, **context)
            await rollups.write_pending(session)  # last: see rollups on lock order
        return apply

    return {
        INTAKES: Family(consumer=INTAKES, model=IntakeSubmittedV1,
                        apply=bind(intake_submitted, "intake", catalog=catalog, zone=zone)),
        ASSIGNED: Family(consumer=ASSIGNED, model=ReferralAssignedV1, apply=bind(referral_assigned, "event")),
        UPDATED: Family(consumer=UPDATED, model=ReferralUpdatedV1, apply=bind(referral_updated, "event", zone=zone)),
        UNROUTABLE: Family(consumer=UNROUTABLE, model=NeedUnroutableV1,
                           apply=bind(need_unroutable, "event", catalog=catalog)),
    }


def fact_topics(topics: Topics) -> dict[str, str]:
    """Every topic the reporting facts are made from, with the consumer that reads it."""
    return {
        topics.intake_submitted: INTAKES,
        **dict.fromkeys(topics.all_assigned(), ASSIGNED),
        topics.referral_updated: UPDATED,
        topics.referral_unroutable: UNROUTABLE,
    }


def effect_of(family: Family, event: EventEnvelope) -> Callable[[AsyncSession], Awaitable[None]]:
    """The effect in the one-argument form `apply_once` takes."""
    return lambda session: family.apply(session, event)
