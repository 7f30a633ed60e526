"""What a batch of events does to the reporting database, for the live consumers (handlers.py)
and the rebuild from the log (rebuild.py) alike: a rebuilt database equals the live one because
both go through these functions, on the events the inbox lets through (`apply_batch_once`).

Set-based: a batch's facts, people, registry stamps and services are read (and locked) with a
few statements for the whole batch, the pure projections (projection.py) change them in memory
event by event in the batch's order, and the session writes them back together; the rollups
once per batch.

Events arrive from several topics and partitions in no guaranteed order, and a rebuild reads
them in yet another order and other batches, so every effect merges (projection.py) and none
depends on another having run first. The two places where that takes care: a transferred
referral inherits its intake from the referral it continues, whichever of the two arrives
first (see FactBatch._carry_intake_to_transfers); and a person's name is the one of their latest
intake by received time, not by the time reporting happened to read it (repository.remember_people).
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from reporting import projection, registry_stamps, repository, rollups
from reporting.closing import scope_changes
from reporting.fact_batch import FactBatch
from shared.catalog import NeedCatalog
from shared.contracts import EventEnvelope, IntakeSubmittedV2, NeedUnroutableV1, ReferralAssignedV2, ReferralUpdatedV2
from shared.topics import Topics

INTAKES, ASSIGNED, UPDATED, UNROUTABLE = "reporting.intakes", "reporting.assigned", "reporting.updated", "reporting.unroutable"
KEYS = "reporting.keys"  # the person keys' consumer, which keeps no inbox (shared/privacy/key_copies.py)


async def intakes_submitted(session: AsyncSession, *, intakes: Sequence[IntakeSubmittedV2], catalog: NeedCatalog,
                            zone: ZoneInfo) -> None:
    await repository.remember_people(session, seen=[
        repository.PersonSeen(person_ref=i.person_ref, identity_json=i.person.identity.model_dump_json(),
                              as_of=i.received_at) for i in intakes])
    stamps = await registry_stamps.stamps_at(session, wanted=[(i.person_ref, i.received_at) for i in intakes])
    needs = [projection.referred_needs(intake=intake, catalog=catalog) for intake in intakes]
    create = {referral_id: intake.intake_id for intake, referred in zip(intakes, needs, strict=True)
              for referral_id, _ in referred}
    batch = await FactBatch.load(session, create=create)
    services = []
    for intake, referred in zip(intakes, needs, strict=True):
        stamp = stamps[(intake.person_ref, intake.received_at)]
        for referral_id, need_code in referred:
            fact = batch.fact(referral_id)
            projection.apply_intake(fact, intake=intake, need_code=need_code, zone=zone, stamp=stamp)
            batch.changed(fact)
        services += projection.services_at_intake(intake=intake, catalog=catalog, zone=zone, stamp=stamp)
    await repository.add_service_facts(session, facts=services)
    await batch.finish()


async def referrals_assigned(session: AsyncSession, *, events: Sequence[ReferralAssignedV2]) -> None:
    continued = [e for e in events if e.transferred_from]
    # Origins locked, not just read: an intake being applied to the origin right now would
    # otherwise be invisible here, and neither side would pass it on to the continuation.
    batch = await FactBatch.load(session, create=_facts_of(events), origins=[e.transferred_from for e in continued])
    for event in events:
        fact = batch.fact(event.referral_id)
        projection.apply_assigned(fact, event=event)
        if event.transferred_from:
            origin = batch.find(event.transferred_from)
            if origin is not None and origin.has_intake:
                projection.inherit_intake(fact, origin=origin)
        batch.changed(fact)
    await batch.finish()


async def referrals_updated(session: AsyncSession, *, events: Sequence[ReferralUpdatedV2], zone: ZoneInfo) -> None:
    await _each_on_its_fact(session, events=events, apply=lambda fact, event: projection.apply_updated(
        fact, event=event, zone=zone))


async def needs_unroutable(session: AsyncSession, *, events: Sequence[NeedUnroutableV1], catalog: NeedCatalog) -> None:
    await _each_on_its_fact(session, events=events, apply=lambda fact, event: projection.apply_unroutable(
        fact, event=event, catalog=catalog))


async def _each_on_its_fact(session: AsyncSession, *, events: Sequence[Any], apply: Callable[[Any, Any], None]) -> None:
    """The batch's facts loaded and locked at once, each event applied to its own, written once."""
    batch = await FactBatch.load(session, create=_facts_of(events))
    for event in events:
        fact = batch.fact(event.referral_id)
        apply(fact, event)
        batch.changed(fact)
    await batch.finish()


def _facts_of(events: Sequence[Any]) -> dict[str, str]:
    return {event.referral_id: event.intake_id for event in events}


# One-event forms, for callers that make facts from single events without the inbox or the
# rollups (tests/integration/test_ops_today.py builds its facts this way).
async def intake_submitted(session: AsyncSession, *, intake: IntakeSubmittedV2, catalog: NeedCatalog,
                           zone: ZoneInfo) -> None:
    await intakes_submitted(session, intakes=[intake], catalog=catalog, zone=zone)


async def referral_assigned(session: AsyncSession, *, event: ReferralAssignedV2) -> None:
    await referrals_assigned(session, events=[event])


BatchEffect = Callable[[AsyncSession, list[Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Family:
    """The events of one consumer group: its inbox name, its event model and its batch effect,
    `apply_batch(session, events)`, in the form `apply_batch_once` takes."""

    consumer: str
    model: type[EventEnvelope]
    apply_batch: BatchEffect


def families(*, catalog: NeedCatalog, zone: ZoneInfo) -> dict[str, Family]:
    """Keyed by consumer name."""

    def bind(function: Callable[..., Awaitable[None]], name: str, **context: object) -> BatchEffect:
        async def apply_batch(session: AsyncSession, events: list[Any]) -> None:
            await function(session, **{name: events}, **context)
            await rollups.write_pending(session)  # last: see rollups on lock order
            await scope_changes.write_pending(session)  # after the rollups, always: the same reason
        return apply_batch

    return {
        INTAKES: Family(consumer=INTAKES, model=IntakeSubmittedV2,
                        apply_batch=bind(intakes_submitted, "intakes", catalog=catalog, zone=zone)),
        ASSIGNED: Family(consumer=ASSIGNED, model=ReferralAssignedV2, apply_batch=bind(referrals_assigned, "events")),
        UPDATED: Family(consumer=UPDATED, model=ReferralUpdatedV2,
                        apply_batch=bind(referrals_updated, "events", zone=zone)),
        UNROUTABLE: Family(consumer=UNROUTABLE, model=NeedUnroutableV1,
                           apply_batch=bind(needs_unroutable, "events", catalog=catalog)),
    }


def fact_topics(topics: Topics) -> dict[str, str]:
    """Every topic the reporting facts are made from, with the consumer that reads it."""
    return {
        topics.intake_submitted: INTAKES,
        **dict.fromkeys(topics.all_assigned(), ASSIGNED),
        topics.referral_updated: UPDATED,
        topics.referral_unroutable: UNROUTABLE,
    }
