"""Turning events into the feed's records, in each person's order (live consumers and backfill alike).

An intake from a rehabilitation or CI centre that has joined the feed, whose person said yes to
sharing with the national system, is fed: the person's record first (once per person), then a
record for each help asked of an agency, then one for each change of that help. Nothing is
recorded for anyone else. Events come from several topics in no set order, so an assignment or
a move that arrives before what it depends on waits (FeedWaiting) and is recorded when that
comes. A record's place in the person's order is given when it is recorded; its delivery id
is fixed by what it is about (records.py), so recording it twice records it once.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.national_feed import records
from reporting.national_feed.contract import Centre
from reporting.national_feed.mapping import AssistanceMap
from reporting.national_feed.models import OPEN_STATES, FeedIntake, FeedPerson, FeedRecord, FeedWaiting
from shared.catalog.outcomes import OutcomeCatalog
from shared.contracts import IntakeSubmittedV2, ReferralAssignedV2, ReferralUpdatedV2
from shared.contracts.person import PersonConsentWithdrawnV1
from shared.db import get_for_update, stored_utc
from shared.delivery import store as deliveries

# Which intakes are fed: (org unit, received at) -> yes or no. The live feed asks the settings'
# joined centres; a backfill asks its own centres and period.
Joins = Callable[[str, datetime], bool]


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedRules:
    mapping: AssistanceMap
    outcomes: OutcomeCatalog
    joins: Joins


def consenting(person: FeedPerson) -> bool:
    """Sharing stands: the latest answer was yes, and no withdrawal came after it."""
    if not person.consented or person.consent_at is None:
        return False
    return person.withdrawn_at is None or stored_utc(person.withdrawn_at) < stored_utc(person.consent_at)


async def on_intakes(session: AsyncSession, *, intakes: Sequence[IntakeSubmittedV2], rules: FeedRules) -> None:
    for intake in sorted(intakes, key=lambda i: i.intake_id):  # one lock order for every consumer
        program, org_unit = intake.source.program, intake.source.org_unit
        asked = program in records.FED_PROGRAMS
        said_yes = asked and bool(intake.consent.share_with_national_system)
        fed = said_yes and rules.joins(org_unit, intake.received_at)
        await _note_intake(session, intake=intake, fed=fed)
        person = await _person(session, intake.person_ref, create=fed, org_unit=org_unit, program=program)
        if person is not None and asked:
            # Never later than the intake itself: a consent time typed in the future does not
            # outrank a withdrawal (docs/data-protection.md, consent to the national system).
            answered_at = min(intake.consent.recorded_at, intake.received_at)
            await _answer(session, person, consented=said_yes, at=answered_at)
        if fed and person is not None and consenting(person):
            centre = Centre(org_unit=org_unit, program=program)  # type: ignore[arg-type]
            await _record(session, person, body=records.person_body(
                person_ref=person.person_ref, centre=centre, occurred_at=intake.received_at, mapping=rules.mapping))
        await _release(session, intake_id=intake.intake_id, rules=rules)


async def on_assigned(session: AsyncSession, *, events: Sequence[ReferralAssignedV2], rules: FeedRules) -> None:
    for event in sorted(events, key=lambda e: e.intake_id):  # one lock order for every consumer
        await _assigned(session, event=event, rules=rules)


async def on_updated(session: AsyncSession, *, events: Sequence[ReferralUpdatedV2], rules: FeedRules) -> None:
    # One lock order for every consumer; each referral's moves in their order.
    for event in sorted(events, key=lambda e: (e.intake_id, e.referral_id, e.version)):
        await _updated(session, event=event, rules=rules)


async def on_withdrawals(session: AsyncSession, *, events: Sequence[PersonConsentWithdrawnV1]) -> None:
    for event in events:
        person = await get_for_update(session, FeedPerson, key={"person_ref": event.person_ref})
        if person is None:
            continue  # never fed: nothing to stop
        if person.withdrawn_at is None or stored_utc(person.withdrawn_at) < stored_utc(event.withdrawn_at):
            person.withdrawn_at = event.withdrawn_at
            session.add(person)
        if not consenting(person):
            await close_open_records(session, person_ref=person.person_ref, state="withdrawn")


async def close_open_records(session: AsyncSession, *, person_ref: str, state: str) -> int:
    """A person's records not delivered yet will never be: withdrawn (consent) or erased."""
    result = await session.exec(update(FeedRecord).where(  # type: ignore[call-overload]
        col(FeedRecord.person_ref) == person_ref, col(FeedRecord.state).in_(OPEN_STATES)).values(
        state=state, lease_until=None))
    return result.rowcount or 0


async def forget_waiting(session: AsyncSession, *, person_ref: str) -> int:
    """The events waiting for a person's intakes (an erasure: they will never be sent)."""
    intakes = select(FeedIntake.intake_id).where(FeedIntake.person_ref == person_ref)
    result = await session.exec(delete(FeedWaiting).where(col(FeedWaiting.intake_id).in_(intakes)))  # type: ignore[call-overload]
    return result.rowcount or 0


async def _assigned(session: AsyncSession, *, event: ReferralAssignedV2, rules: FeedRules) -> None:
    intake = await _intake(session, intake_id=event.intake_id, person_ref=event.person_ref)
    if not intake.seen:
        return await _wait(session, referral_id=event.referral_id, version=1, intake_id=event.intake_id, event=event)
    if not intake.fed:
        return None
    person = await _person(session, intake.person_ref)
    if person is None or not consenting(person):
        return None
    centre = Centre(org_unit=intake.org_unit, program=intake.program)  # type: ignore[arg-type]
    await _record(session, person, body=records.requested_body(event=event, person_ref=person.person_ref,
                                                               centre=centre, mapping=rules.mapping),
                  referral_id=event.referral_id, version=1)
    await _release(session, intake_id=event.intake_id, rules=rules, referral_id=event.referral_id)
    return None


async def _updated(session: AsyncSession, *, event: ReferralUpdatedV2, rules: FeedRules) -> None:
    intake = await _intake(session, intake_id=event.intake_id, person_ref=event.person_ref)
    previous = await _latest_record(session, referral_id=event.referral_id, below=event.version) if intake.seen else None
    if not intake.seen or (intake.fed and previous is None):
        return await _wait(session, referral_id=event.referral_id, version=event.version, intake_id=event.intake_id,
                           event=event)
    if not intake.fed or previous is None:
        return None
    person = await _person(session, intake.person_ref)
    if person is None or not consenting(person):
        return None
    body = records.change_body(event=event, previous=json.loads(previous.body_json), mapping=rules.mapping,
                               outcomes=rules.outcomes)
    await _record(session, person, body=body, referral_id=event.referral_id, version=event.version)
    return None


async def _release(session: AsyncSession, *, intake_id: str, rules: FeedRules, referral_id: str | None = None) -> None:
    """What waited for this intake (or this referral's assignment), in order: assignments first,
    then each referral's moves by version. What cannot go yet waits on."""
    query = select(FeedWaiting).where(FeedWaiting.intake_id == intake_id)
    if referral_id is not None:
        query = query.where(FeedWaiting.referral_id == referral_id)
    waiting = sorted((await session.exec(query)).all(), key=lambda w: (w.version, w.referral_id))
    for row in waiting:
        await session.delete(row)
    await session.flush()
    for row in waiting:
        payload = json.loads(row.event_json)
        if row.version == 1:
            await _assigned(session, event=ReferralAssignedV2.model_validate(payload), rules=rules)
        else:
            await _updated(session, event=ReferralUpdatedV2.model_validate(payload), rules=rules)


async def _wait(session: AsyncSession, *, referral_id: str, version: int, intake_id: str,
                event: ReferralAssignedV2 | ReferralUpdatedV2) -> None:
    if await session.get(FeedWaiting, (referral_id, version)) is None:
        session.add(FeedWaiting(referral_id=referral_id, version=version, intake_id=intake_id,
                                event_json=event.model_dump_json(), arrived_at=datetime.now(UTC)))
        await session.flush()


async def _intake(session: AsyncSession, *, intake_id: str, person_ref: str) -> FeedIntake:
    """The intake's row, locked (made, not yet seen, when an assignment or a move comes first)."""
    found = await get_for_update(session, FeedIntake, key={"intake_id": intake_id},
                                 create={"person_ref": person_ref, "seen": False, "fed": False})
    assert found is not None  # made above when missing
    return found


async def _note_intake(session: AsyncSession, *, intake: IntakeSubmittedV2, fed: bool) -> None:
    row = await _intake(session, intake_id=intake.intake_id, person_ref=intake.person_ref)
    if not row.seen:
        row.seen, row.org_unit, row.program = True, intake.source.org_unit, intake.source.program
        row.received_at, row.fed = intake.received_at, fed
    elif fed and not row.fed:  # a backfill of a centre that joined later
        row.fed = True
    session.add(row)
    await session.flush()


async def _person(session: AsyncSession, person_ref: str, *, create: bool = False, org_unit: str = "",
                  program: str = "") -> FeedPerson | None:
    """The person's row, locked: their records are numbered one after another."""
    values = {"first_org_unit": org_unit, "first_program": program, "next_position": 1, "consented": False}
    return await get_for_update(session, FeedPerson, key={"person_ref": person_ref}, create=values if create else None)


async def _answer(session: AsyncSession, person: FeedPerson, *, consented: bool, at: datetime) -> None:
    """A rehabilitation or CI intake asked again: the latest answer (by when it was given) stands."""
    if person.consent_at is not None and stored_utc(at) < stored_utc(person.consent_at):
        return
    before = consenting(person)
    person.consented, person.consent_at = consented, at
    session.add(person)
    if before and not consenting(person):
        await close_open_records(session, person_ref=person.person_ref, state="withdrawn")
    elif consenting(person) and not before:
        await _reopen_withdrawn(session, person)


async def _reopen_withdrawn(session: AsyncSession, person: FeedPerson) -> None:
    """Consent given again: what was held back by the withdrawal goes after all, in its order,
    after whatever the person has open, so that the receiver has every help it will hear of."""
    withdrawn = (await session.exec(select(FeedRecord).where(
        FeedRecord.person_ref == person.person_ref, FeedRecord.state == "withdrawn")
        .order_by(col(FeedRecord.position)))).all()
    now = datetime.now(UTC)
    for record in withdrawn:
        record.state, record.position, record.attempts, record.next_attempt_at = "pending", person.next_position, 0, now
        record.sequence = None  # numbered anew when sent: never behind what the receiver has seen since
        person.next_position += 1
        session.add(record)
    session.add(person)


async def _latest_record(session: AsyncSession, *, referral_id: str, below: int) -> FeedRecord | None:
    query = (select(FeedRecord).where(FeedRecord.referral_id == referral_id, col(FeedRecord.version) < below)
             .order_by(col(FeedRecord.version).desc()).limit(1))
    return (await session.exec(query)).first()


async def _record(session: AsyncSession, person: FeedPerson, *, body: dict, referral_id: str | None = None,
                  version: int = 0) -> None:
    if await session.get(FeedRecord, body["delivery_id"]) is not None:
        return  # recorded already (a redelivered event, a backfill of what the live feed sent)
    session.add(FeedRecord(delivery_id=body["delivery_id"], person_ref=person.person_ref, position=person.next_position,
                           kind=body["kind"], referral_id=referral_id, version=version,
                           occurred_at=datetime.fromisoformat(body["occurred_at"]), body_json=json.dumps(body, ensure_ascii=False),
                           **deliveries.pending_values(at=datetime.now(UTC))))
    person.next_position += 1
    session.add(person)
    await session.flush()

