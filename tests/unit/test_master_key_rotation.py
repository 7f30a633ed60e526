"""Master-key rotation without downtime (shared/privacy/rewrap.py): with the new master key current
and the old one still listed, new keys go under the new one and everything opens; the command
re-wraps the old keys (and queues them on person.keys for the copies); then the old master key can
go and nothing is lost."""

import os

import pytest
from sqlmodel import select

from shared.contracts import PersonKeyIssuedV1, SealedIdentity
from shared.db import create_tables, make_engine, session_factory
from shared.db.outbox import OutboxMessage
from shared.privacy import KEY_TABLES, LocalMasterKeys, PersonKeyRecord, identities_of, issue_keys, seal_model
from shared.privacy.key_copies import apply_key_records
from shared.privacy.rewrap import keys_by_master, rewrap

OLD, NEW = os.urandom(32), os.urandom(32)
BEFORE = LocalMasterKeys({"2026a": OLD}, current_id="2026a")
DURING = LocalMasterKeys({"2026a": OLD, "2027a": NEW}, current_id="2027a")
AFTER = LocalMasterKeys({"2027a": NEW}, current_id="2027a")
IDENTITY = SealedIdentity(national_id="3640100456781", full_name="สมชาย ใจดี")


async def database(path):  # noqa: ANN001, ANN201
    engine = make_engine(f"sqlite:///{path}")
    await create_tables(engine, [*KEY_TABLES, OutboxMessage.__table__])
    return engine, session_factory(engine)


async def test_keys_re_wrapped_under_the_new_master_key_open_without_the_old_one(tmp_path):
    intake_engine, intake = await database(tmp_path / "intake.db")
    copy_engine, copy = await database(tmp_path / "reporting.db")
    try:
        async with intake() as session:
            old_keys = await issue_keys(session, wrapper=BEFORE, person_refs=[f"ref-{n}" for n in range(7)],
                                        topic="person.keys", producer="intake")
            await session.commit()
        sealed = {ref: seal_model(IDENTITY, key=key, field="identity", sealed_in=f"e-{ref}") for ref, key in old_keys.items()}
        async with intake() as session:  # the services restarted with the new master key current
            new_keys = await issue_keys(session, wrapper=DURING, person_refs=["ref-new", "ref-0"], topic="person.keys",
                                        producer="intake")
            await session.commit()
            during = await identities_of(session, wrapper=DURING, person_refs=[*sealed, "ref-new"])
        assert new_keys["ref-0"].secret == old_keys["ref-0"].secret  # a person keeps their key
        assert all(during.identity(value, person_ref=ref) == IDENTITY for ref, value in sealed.items())
        assert await keys_by_master(intake) == {"2026a": 7, "2027a": 1}

        moved = await rewrap(intake, wrapper=DURING, topic="person.keys", chunk=3)
        assert moved == {"2026a": 7} and await keys_by_master(intake) == {"2027a": 8}
        assert await rewrap(intake, wrapper=DURING, topic="person.keys") == {}  # nothing left: a no-op

        async with intake() as session:
            queued = [PersonKeyIssuedV1.model_validate_json(m.payload)
                      for m in (await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()]
            after = await identities_of(session, wrapper=AFTER, person_refs=list(sealed))
        assert all(after.identity(value, person_ref=ref) == IDENTITY for ref, value in sealed.items())
        # The copies follow person.keys: the re-wrapped records replace the old ones.
        async with copy() as session:
            await apply_key_records(session, records=queued)
            await session.commit()
            copied = await identities_of(session, wrapper=AFTER, person_refs=list(sealed))
        assert all(copied.identity(value, person_ref=ref) == IDENTITY for ref, value in sealed.items())
        assert len({event.event_id for event in queued}) == len(queued) == 7 + 1 + 7
    finally:
        await intake_engine.dispose()
        await copy_engine.dispose()


async def test_a_key_under_a_master_key_no_longer_listed_reads_as_erased_and_is_reported(tmp_path, caplog):
    engine, sessions = await database(tmp_path / "intake.db")
    try:
        async with sessions() as session:
            keys = await issue_keys(session, wrapper=BEFORE, person_refs=["ref-a"], topic="person.keys", producer="intake")
            await session.commit()
            sealed = seal_model(IDENTITY, key=keys["ref-a"], field="identity", sealed_in="e-1")
            found = await identities_of(session, wrapper=AFTER, person_refs=["ref-a"])
        assert found.identity(sealed, person_ref="ref-a") is None
        assert "does not unwrap" in caplog.text
        with pytest.raises(Exception, match="SONGTOR_MASTER_KEYS"):
            async with sessions() as session:  # intake refuses to seal anew under a second key
                await issue_keys(session, wrapper=AFTER, person_refs=["ref-a"], topic="person.keys", producer="intake")
    finally:
        await engine.dispose()
