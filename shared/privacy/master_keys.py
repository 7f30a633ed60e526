"""Master keys: what wraps every person's key. The one seam where a KMS or Vault plugs in.

A person's key never leaves a service unwrapped: it is stored and travels on `person.keys`
wrapped (AES-256-GCM) by a master key, with the person and the key's id as associated data, so a
wrapped key copied onto another person's record does not unwrap. `KeyWrapper` is all the rest of
the code knows: `LocalMasterKeys` keeps the master keys in the process (from settings or a
mounted file); a KMS-backed wrapper (Vault transit, a cloud KMS, an HSM) implements the same two
calls and is chosen in `master_keys_from`. Master keys have ids, so old ones can stay for
unwrapping while new person keys are wrapped by the current one (rotation: `rewrap` re-wraps).
"""

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import DEVELOPMENT_ENVIRONMENTS

_NONCE_BYTES = 12
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_DEV_KEY_ID = "dev-1"
# Known to everyone who reads this file: accepted only in local and test (see SealingSettings).
_DEV_MASTER_KEY = hashlib.sha256(b"songtor-dev-only-master-key").digest()


class KeyUnavailable(LookupError):
    """A wrapped key whose master key this process does not have, or that does not unwrap."""


@dataclass(frozen=True, slots=True)
class WrappedKey:
    kek_id: str  # the master key that wrapped it
    blob: bytes


class KeyWrapper(Protocol):
    """Wraps and unwraps person keys. `context` is bound to the wrapping (associated data)."""

    @property
    def current_id(self) -> str: ...

    def wrap(self, key: bytes, *, context: bytes) -> WrappedKey: ...

    def unwrap(self, wrapped: WrappedKey, *, context: bytes) -> bytes: ...


class LocalMasterKeys:
    """Master keys held in the process. New wraps use `current_id`; any held id unwraps."""

    def __init__(self, keys: dict[str, bytes], *, current_id: str) -> None:
        if current_id not in keys:
            raise ValueError(f"the current master key {current_id!r} is not among the keys given ({', '.join(keys)})")
        for kek_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"master key {kek_id!r} must be 32 bytes (256 bits), not {len(key)}")
        self._keys = {kek_id: AESGCM(key) for kek_id, key in keys.items()}
        self._current_id = current_id

    @property
    def current_id(self) -> str:
        return self._current_id

    def wrap(self, key: bytes, *, context: bytes) -> WrappedKey:
        nonce = os.urandom(_NONCE_BYTES)
        blob = nonce + self._keys[self._current_id].encrypt(nonce, key, context)
        return WrappedKey(kek_id=self._current_id, blob=blob)

    def unwrap(self, wrapped: WrappedKey, *, context: bytes) -> bytes:
        aead = self._keys.get(wrapped.kek_id)
        if aead is None:
            raise KeyUnavailable(f"master key {wrapped.kek_id!r} is not held by this process")
        try:
            return aead.decrypt(wrapped.blob[:_NONCE_BYTES], wrapped.blob[_NONCE_BYTES:], context)
        except InvalidTag as exc:
            raise KeyUnavailable(f"a key wrapped by {wrapped.kek_id!r} does not unwrap for its context") from exc


class SealingSettings(BaseSettings):
    """The master keys of the services that open personal data (intake, agency adapters,
    reporting). Routing has none: it needs no identity and must not get it.

    SONGTOR_MASTER_KEYS='2026a=<base64 of 32 bytes>,2026b=<…>' or, better, a file with the same
    text (SONGTOR_MASTER_KEYS_FILE) that a secret store mounts; SONGTOR_MASTER_KEY_ID names the one
    that wraps new keys (default: the last listed). Unset, a built-in development key is used,
    and only when SONGTOR_ENVIRONMENT is local or test."""

    model_config = SettingsConfigDict(env_prefix="SONGTOR_", extra="ignore")

    environment: str | None = Field(default=None, description="local | test | production (unset: production).")
    master_keys: SecretStr | None = Field(default=None, description="id=base64key[,id=base64key…]")
    master_keys_file: Path | None = Field(default=None, description="A file holding the same list (read at start).")
    master_key_id: str | None = Field(default=None, description="The master key that wraps new person keys.")

    @model_validator(mode="after")
    def _refuse_dev_key_outside_local(self) -> "SealingSettings":
        if self._text() is None and self.environment not in DEVELOPMENT_ENVIRONMENTS:
            raise ValueError(
                "SONGTOR_MASTER_KEYS (or SONGTOR_MASTER_KEYS_FILE) is not set, and the development master key is "
                f"accepted only when SONGTOR_ENVIRONMENT is 'local' or 'test' (it is {self.environment or 'unset'}): "
                "set it to id=<base64 of 32 random bytes>, e.g. `python -m shared.privacy.master_keys new 2027a`, "
                "the same in intake, agency-adapters and reporting, kept outside the repository."
            )
        self.keys()  # a malformed list is refused at start, not at the first intake
        return self

    def _text(self) -> str | None:
        if self.master_keys_file is not None:
            try:
                return self.master_keys_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"SONGTOR_MASTER_KEYS_FILE {self.master_keys_file} cannot be read: {exc.strerror}") from exc
        return self.master_keys.get_secret_value().strip() if self.master_keys is not None else None

    def keys(self) -> tuple[dict[str, bytes], str]:
        """The master keys by id, and the current id."""
        text = self._text()
        if text is None:
            return {_DEV_KEY_ID: _DEV_MASTER_KEY}, self.master_key_id or _DEV_KEY_ID
        keys: dict[str, bytes] = {}
        for number, item in enumerate(filter(None, (part.strip() for part in text.split(","))), start=1):
            kek_id, sep, encoded = (part.strip() for part in item.partition("="))
            # Messages name an item by its id only when it is one: never echo what may be a key.
            if not sep or not _KEY_ID.fullmatch(kek_id):
                raise ValueError(f"SONGTOR_MASTER_KEYS: item {number} is not id=<base64 of 32 bytes> (ids are letters, "
                                 "digits, '.', '_' or '-'); items are separated by commas")
            try:
                key = base64.b64decode(encoded, validate=True)
            except ValueError:
                raise ValueError(f"SONGTOR_MASTER_KEYS: the key of {kek_id!r} is not base64") from None
            if len(key) != 32:
                raise ValueError(f"SONGTOR_MASTER_KEYS: the key of {kek_id!r} is {len(key)} bytes, not 32")
            keys[kek_id] = key
        if not keys:
            raise ValueError("SONGTOR_MASTER_KEYS is empty")
        current = self.master_key_id or list(keys)[-1]
        if current not in keys:
            raise ValueError(f"SONGTOR_MASTER_KEY_ID {current!r} is not among SONGTOR_MASTER_KEYS ({', '.join(keys)})")
        return keys, current


def master_keys_from(settings: SealingSettings) -> KeyWrapper:
    """The wrapper a service uses. A KMS-backed wrapper would be chosen here, from its settings."""
    keys, current = settings.keys()
    return LocalMasterKeys(keys, current_id=current)


if __name__ == "__main__":  # `python -m shared.privacy.master_keys new <id>` prints a fresh list item
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "new":
        sys.exit("usage: python -m shared.privacy.master_keys new <id>")
    print(f"{sys.argv[2]}={base64.b64encode(os.urandom(32)).decode()}")
