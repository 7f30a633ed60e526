"""Reads and writes of the reporting facts. Keyword-only, session passed in."""

from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from reporting import rollups
from reporting.models import IntakeServiceFact, ReferralFact, ReportPerson
from shared.db import get_for_update, stored_utc


async def fact_for(session: AsyncSession, *, referral_id: str, intake_id: str) -> ReferralFact:
    """The referral's fact row, created if this is the first event about it, and locked: the
    intake, assignment and update consumers write the same rows concurrently."""
    blank = ReferralFact(referral_id=referral_id, intake_id=intake_id).model_dump(exclude={"referral_id"})
    fact = await get_for_update(session, ReferralFact, key={"referral_id": referral_id}, create=blank)
    assert fact is not None, "created above when missing"
    rollups.note_loaded(session, fact=fact)
    return fact


async def locked_fact(session: AsyncSession, *, referral_id: str) -> ReferralFact | None:
    """The fact, locked until the transaction ends, or None; never creates one."""
    fact = await get_for_update(session, ReferralFact, key={"referral_id": referral_id})
    if fact is not None:
        rollups.note_loaded(session, fact=fact)
    return fact


def save_fact(session: AsyncSession, *, fact: ReferralFact) -> None:
    """Save a fact loaded by `fact_for` or `locked_fact`; its move between rollup rows is noted
    and written by the effect's end (rollups.write_pending)."""
    fact.updated_at = datetime.now(UTC)
    session.add(fact)
    rollups.note_saved(session, fact=fact)


async def remember_person(
    session: AsyncSession, *, person_ref: str, full_name: str, national_id: str, as_of: datetime
) -> None:
    """The name of the latest intake wins: a corrected spelling at a later intake reaches the
    next forms. Latest by `as_of` (when the intake was received), kept in `updated_at`, not by
    when it was consumed: partitions are read in any order, and a rebuild must pick the same name."""
    person = await get_for_update(session, ReportPerson, key={"person_ref": person_ref},
                                  create={"full_name": full_name, "national_id": national_id, "updated_at": as_of})
    assert person is not None, "created above when missing"
    stored = stored_utc(person.updated_at)
    # The name breaks a tie of two intakes received in the same instant, so either order agrees.
    if (stored, person.full_name) <= (as_of, full_name):
        person.full_name, person.national_id, person.updated_at = full_name, national_id, as_of
        session.add(person)


async def add_service_facts(session: AsyncSession, *, facts: list[IntakeServiceFact]) -> None:
    added = [fact for fact in facts if await session.get(IntakeServiceFact, (fact.intake_id, fact.need_code)) is None]
    session.add_all(added)
    rollups.note_services(session, facts=added)
