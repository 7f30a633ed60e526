"""A service's copy of person keys (`person_keys`), always wrapped by a master key.

Intake issues keys (`issue_keys`) and publishes each on `person.keys`; the agency adapters and
reporting keep the copies they read there (`store_copies`). Whoever reads a person's data opens
it with `identities_of`, which unwraps only the keys it is asked for. Deleting a person's row is
what makes every sealed copy of their data, in this service and on the log, unreadable here.
"""

import base64
import logging
from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import ids
from shared.contracts.person import PersonKeyIssuedV1
from shared.db.engine import insert_for
from shared.db.outbox import add_to_outbox
from shared.db.staged import stage
from shared.privacy.master_keys import KeyUnavailable, KeyWrapper, WrappedKey
from shared.privacy.sealing import Identities, PersonKey, new_person_key, wrap_context

logger = logging.getLogger("songtor.privacy")


class PersonKeyRecord(SQLModel, table=True):
    __tablename__ = "person_keys"

    person_ref: str = Field(primary_key=True, max_length=64)
    key_id: str = Field(max_length=32)
    kek_id: str = Field(max_length=64)
    wrapped_key: str  # base64 of the wrapped key: never the key itself
    issued_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ErasedKey(SQLModel, table=True):
    """A key deleted by an erasure: a copy of it read again later (a consumer group re-reading
    person.keys before compaction took the record away) is not kept. A person taken in again
    after their erasure gets a new key, which is."""

    __tablename__ = "erased_person_keys"

    person_ref: str = Field(primary_key=True, max_length=64)
    key_id: str = Field(primary_key=True, max_length=32)
    erased_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


# The tables of every service that holds person keys.
KEY_TABLES = [PersonKeyRecord.__table__, ErasedKey.__table__]


def _unwrap(row: PersonKeyRecord, *, wrapper: KeyWrapper) -> PersonKey | None:
    wrapped = WrappedKey(kek_id=row.kek_id, blob=base64.b64decode(row.wrapped_key))
    try:
        secret = wrapper.unwrap(wrapped, context=wrap_context(person_ref=row.person_ref, key_id=row.key_id))
    except KeyUnavailable as exc:
        # A master key retired before its keys were re-wrapped: the person reads as erased here,
        # which an operator must hear about (shared/privacy/rewrap.py re-wraps).
        logger.error("person key %s does not unwrap: %s", row.key_id, exc)
        return None
    return PersonKey(person_ref=row.person_ref, key_id=row.key_id, secret=secret)


def key_record(key: PersonKey, *, wrapper: KeyWrapper, at: datetime) -> dict:
    """A `person_keys` row of `key`, wrapped by the current master key."""
    wrapped = wrapper.wrap(key.secret, context=wrap_context(person_ref=key.person_ref, key_id=key.key_id))
    return {"person_ref": key.person_ref, "key_id": key.key_id, "kek_id": wrapped.kek_id,
            "wrapped_key": base64.b64encode(wrapped.blob).decode(), "issued_at": at}


def key_event(record: dict, *, producer: str, purpose: str = "key-issued") -> PersonKeyIssuedV1:
    """The `person.keys` record announcing a `person_keys` row (`purpose`: its first issue, or a
    re-wrap under another master key, which is another event of the same key)."""
    return PersonKeyIssuedV1(
        event_id=ids.derived_event_id(source_id=f"{record['person_ref']}/{record['key_id']}", purpose=purpose),
        occurred_at=record["issued_at"], correlation_id=record["person_ref"], producer=producer,
        person_ref=record["person_ref"], key_id=record["key_id"], kek_id=record["kek_id"],
        wrapped_key=record["wrapped_key"],
    )


async def _rows(session: AsyncSession, person_refs: Collection[str]) -> list[PersonKeyRecord]:
    refs = sorted(set(person_refs))
    found: list[PersonKeyRecord] = []
    for start in range(0, len(refs), 500):  # bounded IN lists: SQLite's variable limit, plan cache
        chunk = refs[start:start + 500]
        found.extend((await session.exec(select(PersonKeyRecord).where(col(PersonKeyRecord.person_ref).in_(chunk)))).all())
    return found


async def identities_of(session: AsyncSession, *, wrapper: KeyWrapper, person_refs: Collection[str]) -> Identities:
    """What this service can open of these people: the keys it holds, unwrapped."""
    keys = {}
    for row in await _rows(session, person_refs):
        if (key := _unwrap(row, wrapper=wrapper)) is not None:
            keys[row.person_ref] = key
    return Identities(keys)


async def keys_held(session: AsyncSession, *, wrapper: KeyWrapper, person_refs: Collection[str]) -> dict[str, PersonKey]:
    """The keys these people have already (intake's side), unwrapped."""
    keys: dict[str, PersonKey] = {}
    for row in await _rows(session, person_refs):
        if (key := _unwrap(row, wrapper=wrapper)) is None:
            # Its master key is not held: sealing anew under a second key would strand what the
            # first one sealed. Refuse until the master key is back (the intake gets a 503).
            raise KeyUnavailable(f"person key {row.key_id} is wrapped by master key {row.kek_id!r}, which this "
                                 "process does not hold: add it to SONGTOR_MASTER_KEYS")
        keys[row.person_ref] = key
    return keys


def issue_key(session: AsyncSession, *, wrapper: KeyWrapper, person_ref: str, topic: str, producer: str) -> PersonKey:
    """A first key for this person, stored and queued on `topic` when the transaction commits,
    ahead of the events it seals (the outbox keeps the order). Stored by a plain INSERT: a key
    issued at the same moment by another transaction makes this one fail (and its caller retry),
    never overwrites the key under the data it sealed."""
    key = new_person_key(person_ref)
    record = key_record(key, wrapper=wrapper, at=datetime.now(UTC))
    stage(session, PersonKeyRecord, record)
    add_to_outbox(session, topic=topic, key=person_ref, event=key_event(record, producer=producer))
    return key


async def issue_keys(
    session: AsyncSession, *, wrapper: KeyWrapper, person_refs: Collection[str], topic: str, producer: str,
) -> dict[str, PersonKey]:
    """The key of each person: the one they have, or a new one (`issue_key`)."""
    keys = await keys_held(session, wrapper=wrapper, person_refs=person_refs)
    for person_ref in sorted(set(person_refs) - keys.keys()):
        keys[person_ref] = issue_key(session, wrapper=wrapper, person_ref=person_ref, topic=topic, producer=producer)
    return keys


async def store_copies(session: AsyncSession, *, events: Sequence[PersonKeyIssuedV1]) -> None:
    """Keep the keys read on `person.keys` (the agency adapters' and reporting's side). The latest
    record of a person wins; a key an erasure deleted here is not taken back."""
    latest = {event.person_ref: event for event in events}
    if latest:
        erased = set((await session.exec(select(ErasedKey.person_ref, ErasedKey.key_id).where(
            col(ErasedKey.person_ref).in_(sorted(latest))))).all())
        latest = {ref: e for ref, e in latest.items() if (ref, e.key_id) not in erased}
    await _upsert(session, [
        {"person_ref": e.person_ref, "key_id": e.key_id, "kek_id": e.kek_id, "wrapped_key": e.wrapped_key,
         "issued_at": e.occurred_at}
        for e in latest.values()
    ])


async def forget_keys(session: AsyncSession, *, person_refs: Collection[str]) -> int:
    """Delete these people's keys, remembering which were deleted: their sealed data no longer
    opens here. Returns how many went."""
    if not person_refs:
        return 0
    rows = await _rows(session, person_refs)
    for row in rows:
        if await session.get(ErasedKey, (row.person_ref, row.key_id)) is None:
            session.add(ErasedKey(person_ref=row.person_ref, key_id=row.key_id))
    await session.exec(delete(PersonKeyRecord).where(col(PersonKeyRecord.person_ref).in_(sorted(person_refs))))
    return len(rows)


async def erased_people(session: AsyncSession, *, person_refs: Collection[str]) -> set[str]:
    """Which of these people had a key deleted here by an erasure."""
    if not person_refs:
        return set()
    return set((await session.exec(select(ErasedKey.person_ref).where(
        col(ErasedKey.person_ref).in_(sorted(person_refs))))).all())


async def _upsert(session: AsyncSession, rows: list[dict]) -> None:
    if not rows:
        return
    connection = await session.connection()
    statement = insert_for(connection)(PersonKeyRecord)
    statement = statement.on_conflict_do_update(
        index_elements=["person_ref"],
        set_={name: statement.excluded[name] for name in ("key_id", "kek_id", "wrapped_key", "issued_at")},
    )
    await connection.execute(statement, rows)
