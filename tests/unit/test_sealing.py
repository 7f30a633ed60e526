"""Crypto-shredding's core (shared/privacy): sealed values open only with their person's key, in the
place they were sealed for; a key gone reads as erased, never as an error; master keys wrap the
person keys and refuse the development key outside local and test."""

import base64
import os

import pytest
from pydantic import ValidationError

from shared.contracts import SealedIdentity
from shared.privacy import Identities, LocalMasterKeys, SealingSettings, master_keys_from, seal_model, seal_text
from shared.privacy.master_keys import KeyUnavailable
from shared.privacy.sealing import new_person_key, note_field, wrap_context

IDENTITY = SealedIdentity(national_id="3640100456781", full_name="สมชาย ใจดี", phone="0812345678")


def test_a_sealed_identity_opens_with_the_person_s_key_and_holds_nothing_in_clear():
    key = new_person_key("ref-a")
    sealed = seal_model(IDENTITY, key=key, field="identity", sealed_in="event-1")
    text = sealed.model_dump_json()
    for clear in (IDENTITY.national_id, IDENTITY.full_name, IDENTITY.phone):
        assert clear not in text
    assert Identities({"ref-a": key}).identity(sealed, person_ref="ref-a") == IDENTITY


def test_without_the_key_a_sealed_value_reads_as_erased_not_as_an_error():
    key = new_person_key("ref-a")
    sealed = seal_model(IDENTITY, key=key, field="identity", sealed_in="event-1")
    assert Identities({}).identity(sealed, person_ref="ref-a") is None
    # A key issued after an erasure (the person came back) does not open what the old one sealed.
    assert Identities({"ref-a": new_person_key("ref-a")}).identity(sealed, person_ref="ref-a") is None


def test_a_sealed_value_moved_to_another_person_field_or_need_does_not_open():
    key = new_person_key("ref-a")
    note = seal_text("ช่างเชื่อม", key=key, field=note_field("job_registration"), sealed_in="event-1")
    identities = Identities({"ref-a": key, "ref-b": key})  # even the same key under another person
    assert identities.text(note, person_ref="ref-a", field=note_field("job_registration")) == "ช่างเชื่อม"
    assert identities.text(note, person_ref="ref-b", field=note_field("job_registration")) is None
    assert identities.text(note, person_ref="ref-a", field=note_field("skills_training")) is None
    assert identities.identity(note, person_ref="ref-a") is None
    moved = note.model_copy(update={"sealed_in": "event-2"})
    assert identities.text(moved, person_ref="ref-a", field=note_field("job_registration")) is None


def test_a_tampered_ciphertext_reads_as_erased():
    key = new_person_key("ref-a")
    sealed = seal_model(IDENTITY, key=key, field="identity", sealed_in="event-1")
    raw = bytearray(base64.b64decode(sealed.ciphertext))
    raw[0] ^= 1
    tampered = sealed.model_copy(update={"ciphertext": base64.b64encode(bytes(raw)).decode()})
    assert Identities({"ref-a": key}).identity(tampered, person_ref="ref-a") is None


def test_master_keys_wrap_person_keys_for_their_person_only():
    masters = LocalMasterKeys({"2026a": os.urandom(32)}, current_id="2026a")
    key = new_person_key("ref-a")
    wrapped = masters.wrap(key.secret, context=wrap_context(person_ref="ref-a", key_id=key.key_id))
    assert wrapped.kek_id == "2026a" and key.secret not in wrapped.blob
    assert masters.unwrap(wrapped, context=wrap_context(person_ref="ref-a", key_id=key.key_id)) == key.secret
    with pytest.raises(KeyUnavailable):
        masters.unwrap(wrapped, context=wrap_context(person_ref="ref-b", key_id=key.key_id))


def test_a_new_master_key_wraps_new_keys_while_the_old_one_still_unwraps_its_own():
    old, new = os.urandom(32), os.urandom(32)
    before = LocalMasterKeys({"2026a": old}, current_id="2026a")
    after = LocalMasterKeys({"2026a": old, "2027a": new}, current_id="2027a")
    context = wrap_context(person_ref="ref-a", key_id="k1")
    secret = os.urandom(32)
    wrapped_before = before.wrap(secret, context=context)
    assert after.unwrap(wrapped_before, context=context) == secret
    assert after.wrap(secret, context=context).kek_id == "2027a"
    with pytest.raises(KeyUnavailable):
        LocalMasterKeys({"2027a": new}, current_id="2027a").unwrap(wrapped_before, context=context)


def test_the_development_master_key_is_refused_outside_local_and_test(monkeypatch):
    for name in ("SONGTOR_MASTER_KEYS", "SONGTOR_MASTER_KEYS_FILE", "SONGTOR_MASTER_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    for environment in (None, "production", "staging"):
        with pytest.raises(ValidationError, match="SONGTOR_MASTER_KEYS"):
            SealingSettings(environment=environment)
    assert master_keys_from(SealingSettings(environment="test")).current_id == "dev-1"


def test_master_keys_are_read_as_a_list_with_the_last_one_current_unless_named(tmp_path):
    one, two = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))
    settings = SealingSettings(environment="production", master_keys=f"2026a={one}, 2027a={two}")
    assert master_keys_from(settings).current_id == "2027a"
    named = SealingSettings(environment="production", master_keys=f"2026a={one},2027a={two}", master_key_id="2026a")
    assert master_keys_from(named).current_id == "2026a"
    mounted = tmp_path / "master-keys"
    mounted.write_text(f"2026a={one}\n", encoding="utf-8")
    assert master_keys_from(SealingSettings(environment="production", master_keys_file=mounted)).current_id == "2026a"
    for bad, says in ((f"2026a:{one}", "item 1 is not id="), ("2026a=c2hvcnQ=", "not 32"), (f"2026a={one}", "2027b")):
        with pytest.raises(ValidationError, match=says) as refused:
            SealingSettings(environment="production", master_keys=bad,
                            master_key_id="2027b" if says == "2027b" else None)
        assert one not in str(refused.value)  # a refusal never repeats a key


def test_a_person_key_never_shows_its_secret_in_a_log_or_a_traceback():
    key = new_person_key("ref-a")
    assert key.secret.hex() not in repr(key) and str(key.secret) not in repr(key)
