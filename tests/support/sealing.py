"""Sealed personal data in tests: the development master key the services use under
SONGTOR_ENVIRONMENT=test, and one key per person, as intake would issue it."""

import json
from datetime import UTC, datetime

from shared.contracts import PersonKeyIssuedV1
from shared.privacy import Identities, PersonKey, SealingSettings, master_keys_from
from shared.privacy.keyring import key_event, key_record
from shared.privacy.sealing import new_person_key

SEALING = SealingSettings(environment="test")
MASTER_KEYS = master_keys_from(SEALING)
_KEYS: dict[str, PersonKey] = {}


def person_key(person_ref: str) -> PersonKey:
    """The same key for a person every time in a test run (intake keeps one per person)."""
    if person_ref not in _KEYS:
        _KEYS[person_ref] = new_person_key(person_ref)
    return _KEYS[person_ref]


def identities() -> Identities:
    """Opens whatever the test keys sealed (every key handed out in this run, as they come)."""
    return Identities(_KEYS)


def key_issued(person_ref: str) -> PersonKeyIssuedV1:
    """The person.keys record of a person's key, as intake publishes it."""
    return key_event(key_record(person_key(person_ref), wrapper=MASTER_KEYS, at=datetime.now(UTC)), producer="intake")


def sealed_identity(person_ref: str, *, full_name: str, national_id: str, phone: str | None = None) -> dict:
    """A person's identity sealed with their test key, as an event carries it (person.identity)."""
    from shared.contracts import SealedIdentity
    from shared.privacy import seal_model

    identity = SealedIdentity(national_id=national_id, full_name=full_name, phone=phone)
    return seal_model(identity, key=person_key(person_ref), field="identity",
                      sealed_in=f"test-intake-{person_ref}").model_dump()


def identity_json(person_ref: str, *, full_name: str, national_id: str, phone: str | None = None) -> str:
    """A person's identity sealed as reporting keeps it (report_people.identity_json)."""
    return json.dumps(sealed_identity(person_ref, full_name=full_name, national_id=national_id, phone=phone))


def key_row(person_ref: str):  # noqa: ANN201
    """The person_keys row a service keeps for this person (wrapped by the test master key)."""
    from shared.privacy import PersonKeyRecord

    return PersonKeyRecord(**key_record(person_key(person_ref), wrapper=MASTER_KEYS, at=datetime.now(UTC)))


def report_person(person_ref: str, *, full_name: str, national_id: str) -> list:
    """reporting's row of a person and its key: what the forms open."""
    from reporting.models import ReportPerson

    return [ReportPerson(person_ref=person_ref, identity_json=identity_json(person_ref, full_name=full_name,
                                                                            national_id=national_id)),
            key_row(person_ref)]
