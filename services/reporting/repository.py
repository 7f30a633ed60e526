"""Reads and writes of the reporting facts, a batch of events' worth at a time. Keyword-only,
session passed in.

Locks: the four consumers (and several processes of each) write the same fact rows at once.
Every function that locks rows takes them in one statement sorted by primary key, and inserts
missing rows sorted too (PostgreSQL inserts a VALUES list in order, and an uncommitted insert
holds its key like a lock), so two batches can wait for each other but never deadlock. On
SQLite the inbox claim, the transaction's first statement, already holds the database's write
lock, so the reads below cannot go stale and FOR UPDATE (ignored there) is not needed.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, update
from sqlalchemy import select as select_rows
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting import rollups
from reporting.bulk import chunks, insert_for
from reporting.closing import scope_changes
from reporting.models import FactRow, IntakeServiceFact, ReferralFact, ReportPerson
from shared.db import stored_utc


_FACTS = ReferralFact.__table__
# SET every column from the row's values, WHERE the key is the row's (an executemany of one statement).
_UPDATE_FACT = update(_FACTS).where(_FACTS.c.referral_id == bindparam("fact_key"))


async def insert_missing_facts(session: AsyncSession, *, create: dict[str, str]) -> None:
    """A blank fact for each referral_id -> intake_id of `create` that has none yet: the first
    event about a referral creates its row, whichever topic it came from."""
    if not create:
        return
    connection = await session.connection()
    insert = insert_for(connection)
    # The model's column defaults (status "submitted", version 0, updated_at) fill the rest: building
    # a ReferralFact per row to read them off cost a fifth of reporting's CPU under load.
    rows = [{"referral_id": referral_id, "intake_id": intake_id} for referral_id, intake_id in sorted(create.items())]
    await connection.execute(insert(ReferralFact).on_conflict_do_nothing(index_elements=["referral_id"]), rows)


async def lock_facts(session: AsyncSession, *, referral_ids: Iterable[str]) -> list[FactRow]:
    """The facts of these ids that exist, locked until the transaction ends, in key order, as
    plain rows: read as they are now, after any change another transaction committed before we
    took the lock. The caller keeps the rows it changes and writes them with `write_facts`."""
    keys = sorted(set(referral_ids))
    connection = await session.connection()
    found: list[FactRow] = []
    for chunk in chunks(keys, width=1):
        query = select_rows(_FACTS).where(_FACTS.c.referral_id.in_(chunk)).order_by(_FACTS.c.referral_id).with_for_update()
        found.extend(FactRow(row) for row in await connection.execute(query))
    for fact in found:
        rollups.note_loaded(session, fact=fact)
        scope_changes.note_loaded(session, fact=fact)
    return found


async def write_facts(session: AsyncSession, *, facts: Sequence[FactRow]) -> None:
    """Write back facts loaded by `lock_facts` and changed, in one executemany UPDATE by key (the
    rows are locked, so every column is written as held); their moves between rollup rows, and the
    month-close scopes they change, are noted and written at the effect's end (rollups and
    closing.scope_changes write_pending)."""
    if not facts:
        return
    now = datetime.now(UTC)
    rows = []
    for fact in sorted(facts, key=lambda f: f.referral_id):
        fact.updated_at = now
        rollups.note_saved(session, fact=fact)
        scope_changes.note_saved(session, fact=fact)
        rows.append({"fact_key": fact.referral_id, **fact.values()})
    connection = await session.connection()
    await connection.execute(_UPDATE_FACT, rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonSeen:
    """A person's identity (sealed) as one intake gave it, received at `as_of`."""

    person_ref: str
    identity_json: str
    as_of: datetime

    @property
    def rank(self) -> tuple[datetime, str]:
        # The sealed value (its event id first) breaks a tie of two intakes received in the same
        # instant, so either order agrees.
        return (stored_utc(self.as_of), self.identity_json)


async def remember_people(session: AsyncSession, *, seen: Sequence[PersonSeen]) -> None:
    """The identity of the latest intake wins: a corrected spelling at a later intake reaches the
    next forms. Latest by `as_of` (when the intake was received), kept in `updated_at`, not by
    when it was consumed: partitions are read in any order, and a rebuild must pick the same
    one. A maximum, so the batch's intakes and the stored row can be compared in any order."""
    latest: dict[str, PersonSeen] = {}
    for person in seen:
        if person.person_ref not in latest or latest[person.person_ref].rank <= person.rank:
            latest[person.person_ref] = person
    if not latest:
        return
    connection = await session.connection()
    insert = insert_for(connection)
    rows = [{"person_ref": ref, "identity_json": p.identity_json, "updated_at": p.as_of}
            for ref, p in sorted(latest.items())]
    await connection.execute(insert(ReportPerson).on_conflict_do_nothing(index_elements=["person_ref"]), rows)
    for chunk in chunks(sorted(latest), width=1):
        query = (select(ReportPerson).where(col(ReportPerson.person_ref).in_(chunk)).order_by(col(ReportPerson.person_ref))
                 .with_for_update().execution_options(populate_existing=True))
        for stored in (await session.exec(query)).all():
            person = latest[stored.person_ref]
            if (stored_utc(stored.updated_at), stored.identity_json) <= person.rank:
                stored.identity_json, stored.updated_at = person.identity_json, person.as_of
                session.add(stored)


_SERVICE_KEY = (IntakeServiceFact.__table__.c.intake_id, IntakeServiceFact.__table__.c.need_code)


async def add_service_facts(session: AsyncSession, *, facts: Sequence[IntakeServiceFact]) -> list[IntakeServiceFact]:
    """Insert the services not recorded yet (the first of a key wins, as a replayed intake is the
    same intake); returns those inserted now, which are the ones the rollups count."""
    unique = {(fact.intake_id, fact.need_code): fact for fact in reversed(facts)}
    if not unique:
        return []
    connection = await session.connection()
    insert = insert_for(connection)
    rows = [unique[key].model_dump() for key in sorted(unique)]
    statement = (insert(IntakeServiceFact).on_conflict_do_nothing(index_elements=["intake_id", "need_code"])
                 .returning(*_SERVICE_KEY))
    added = [unique[(intake_id, need_code)] for intake_id, need_code in await connection.execute(statement, rows)]
    rollups.note_services(session, facts=added)
    scope_changes.note_changed(session, facts=added)
    return added

