"""Each service's copy of the person keys (shared/privacy/keyring.py, key_copies.py), on a SQLite
file: intake issues one key per person and queues it ahead of what it seals; the copies keep the
latest record of each person, and a tombstone (an erasure) deletes theirs."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from shared.contracts import PersonKeyIssuedV1, SealedIdentity
from shared.db import create_tables, make_engine, session_factory
from shared.db.outbox import OutboxMessage
from shared.privacy import KEY_TABLES, PersonKeyRecord, forget_keys, identities_of, issue_keys, seal_model
from shared.privacy.key_copies import KeyErased, apply_key_records
from shared.privacy.keyring import key_event, key_record
from shared.privacy.sealing import new_person_key
from tests.support.sealing import MASTER_KEYS, key_issued, person_key

IDENTITY = SealedIdentity(national_id="3640100456781", full_name="สมชาย ใจดี", phone="0812345678")


@pytest.fixture
async def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/keys.db")
    await create_tables(engine, [*KEY_TABLES, OutboxMessage.__table__])
    yield session_factory(engine)
    await engine.dispose()


async def test_a_person_gets_one_key_queued_on_person_keys_once_and_the_same_key_after(sessions):
    async with sessions() as session:
        first = await issue_keys(session, wrapper=MASTER_KEYS, person_refs={"ref-a", "ref-b"}, topic="person.keys",
                                 producer="intake")
        await session.commit()
    async with sessions() as session:
        again = await issue_keys(session, wrapper=MASTER_KEYS, person_refs={"ref-a"}, topic="person.keys",
                                 producer="intake")
        await session.commit()
        queued = (await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        stored = (await session.exec(select(PersonKeyRecord))).all()
    assert again["ref-a"].secret == first["ref-a"].secret
    assert sorted((m.topic, m.key) for m in queued) == [("person.keys", "ref-a"), ("person.keys", "ref-b")]
    events = [PersonKeyIssuedV1.model_validate_json(m.payload) for m in queued]
    assert {e.key_id for e in events} == {first["ref-a"].key_id, first["ref-b"].key_id}
    for row in stored:  # stored and sent wrapped, never the key itself
        assert first[row.person_ref].secret.hex() not in row.wrapped_key
        assert first[row.person_ref].secret not in row.wrapped_key.encode()


async def test_two_transactions_issuing_a_first_key_for_one_person_cannot_both_win(sessions):
    async with sessions() as one, sessions() as two:
        await issue_keys(one, wrapper=MASTER_KEYS, person_refs={"ref-a"}, topic="person.keys", producer="intake")
        await one.commit()
        # As if it had read before the first committed: its insert must fail (and be retried), never
        # overwrite the key the first one sealed with.
        with pytest.raises(IntegrityError):
            await (await two.connection()).execute(
                insert(PersonKeyRecord), [key_record(new_person_key("ref-a"), wrapper=MASTER_KEYS, at=datetime.now(UTC))])


async def test_copies_open_what_the_key_sealed_and_a_tombstone_erases_it(sessions):
    sealed = seal_model(IDENTITY, key=person_key("ref-c"), field="identity", sealed_in="event-1")
    async with sessions() as session:
        await apply_key_records(session, records=[key_issued("ref-c"), key_issued("ref-d")])
        await session.commit()
        opened = await identities_of(session, wrapper=MASTER_KEYS, person_refs=["ref-c"])
        assert opened.identity(sealed, person_ref="ref-c") == IDENTITY
        # A batch with the key again and then its tombstone: the last record of the person decides.
        await apply_key_records(session, records=[key_issued("ref-c"), KeyErased(person_ref="ref-c")],
                                tombstones=True)
        await session.commit()
        after = await identities_of(session, wrapper=MASTER_KEYS, person_refs=["ref-c", "ref-d"])
    assert after.identity(sealed, person_ref="ref-c") is None
    assert after.has_key("ref-d") and not after.has_key("ref-c")


async def test_a_key_an_erasure_deleted_is_not_taken_back_but_a_new_key_of_the_person_is(sessions):
    async with sessions() as session:
        await apply_key_records(session, records=[key_issued("ref-e")])
        await session.commit()
        assert await forget_keys(session, person_refs=["ref-e"]) == 1
        await session.commit()
        # The live consumers pass tombstones over: the erasure handler deletes (after reporting redacts).
        await apply_key_records(session, records=[key_issued("ref-e"), KeyErased(person_ref="ref-e")])
        await session.commit()
        assert not (await identities_of(session, wrapper=MASTER_KEYS, person_refs=["ref-e"])).has_key("ref-e")
        returned = new_person_key("ref-e")  # taken in again after the erasure: a new key
        await apply_key_records(session, records=[key_event(key_record(returned, wrapper=MASTER_KEYS,
                                                                       at=datetime.now(UTC)), producer="intake")])
        await session.commit()
        found = await identities_of(session, wrapper=MASTER_KEYS, person_refs=["ref-e"])
    assert found.has_key("ref-e")
    assert found.identity(seal_model(IDENTITY, key=returned, field="identity", sealed_in="e-2"), person_ref="ref-e")
