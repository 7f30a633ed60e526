"""Sealing and opening personal fields with a person's own key (AES-256-GCM).

Each ciphertext's associated data names its field, the event it was sealed in, the person and
the key, so it opens only where it was put: a sealed identity copied onto another person's event,
or a note moved into the identity field, fails its tag. A value whose key is gone (the person was
erased) or has not arrived yet opens to None: callers show the person as erased, never fail.
"""

import base64
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ValidationError

from shared.contracts.sealed import Sealed, SealedIdentity

logger = logging.getLogger("songtor.privacy")

_NONCE_BYTES = 12


@dataclass(frozen=True, slots=True)
class PersonKey:
    person_ref: str
    key_id: str
    secret: bytes  # 32 bytes; never logged, stored or sent unwrapped

    def __repr__(self) -> str:  # a key in a traceback or a log line shows its id only
        return f"PersonKey(person_ref={self.person_ref!r}, key_id={self.key_id!r})"


def new_person_key(person_ref: str) -> PersonKey:
    return PersonKey(person_ref=person_ref, key_id=os.urandom(8).hex(), secret=AESGCM.generate_key(bit_length=256))


def wrap_context(*, person_ref: str, key_id: str) -> bytes:
    """The associated data of a wrapped person key."""
    return f"songtor.person-key.v1|{person_ref}|{key_id}".encode()


# The words staff type with a referral's move (`referral.updated`'s reason and note).
MOVE_REASON, MOVE_NOTE = "move_reason", "move_note"


def note_field(need_code: str) -> str:
    """A need's note is sealed for that need: moved onto another need of the intake, it does not open."""
    return f"note:{need_code}"


def _aad(*, field: str, sealed_in: str, person_ref: str, key_id: str) -> bytes:
    return f"songtor.sealed.v1|{field}|{sealed_in}|{person_ref}|{key_id}".encode()


def seal_bytes(plain: bytes, *, key: PersonKey, field: str, sealed_in: str) -> Sealed:
    nonce = os.urandom(_NONCE_BYTES)
    aad = _aad(field=field, sealed_in=sealed_in, person_ref=key.person_ref, key_id=key.key_id)
    ciphertext = AESGCM(key.secret).encrypt(nonce, plain, aad)
    return Sealed(key_id=key.key_id, sealed_in=sealed_in, nonce=base64.b64encode(nonce).decode(),
                  ciphertext=base64.b64encode(ciphertext).decode())


def seal_model(value: BaseModel, *, key: PersonKey, field: str, sealed_in: str) -> Sealed:
    return seal_bytes(value.model_dump_json().encode(), key=key, field=field, sealed_in=sealed_in)


def seal_text(value: str, *, key: PersonKey, field: str, sealed_in: str) -> Sealed:
    return seal_bytes(value.encode(), key=key, field=field, sealed_in=sealed_in)


class Identities:
    """Opens sealed values with the person keys a service holds (`keyring.identities_of`).

    Every opener returns None for a value it cannot open: the key was deleted (erased), has not
    reached this service yet, or the value was tampered with (logged, by key id only)."""

    def __init__(self, keys: Mapping[str, PersonKey]) -> None:
        self._keys = keys

    def has_key(self, person_ref: str) -> bool:
        return person_ref in self._keys

    def open_bytes(self, sealed: Sealed | None, *, person_ref: str, field: str) -> bytes | None:
        if sealed is None:
            return None
        key = self._keys.get(person_ref)
        if key is None or key.key_id != sealed.key_id:
            return None
        aad = _aad(field=field, sealed_in=sealed.sealed_in, person_ref=person_ref, key_id=sealed.key_id)
        try:
            return AESGCM(key.secret).decrypt(base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext), aad)
        except (InvalidTag, ValueError):
            logger.warning("a sealed %s does not open with key %s: tampered or misplaced", field, sealed.key_id)
            return None

    def identity(self, sealed: Sealed | None, *, person_ref: str) -> SealedIdentity | None:
        plain = self.open_bytes(sealed, person_ref=person_ref, field="identity")
        if plain is None:
            return None
        try:
            return SealedIdentity.model_validate_json(plain)
        except ValidationError:
            logger.warning("a sealed identity with key %s opens to something else", sealed.key_id if sealed else "-")
            return None

    def text(self, sealed: Sealed | None, *, person_ref: str, field: str) -> str | None:
        plain = self.open_bytes(sealed, person_ref=person_ref, field=field)
        return plain.decode() if plain is not None else None

    def birth_date(self, sealed: Sealed | None, *, person_ref: str) -> date | None:
        text = self.text(sealed, person_ref=person_ref, field="birth_date")
        return date.fromisoformat(text) if text else None
