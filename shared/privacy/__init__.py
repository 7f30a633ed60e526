"""Personal data at rest and on the wire: sealed with a key of each person's own, so that erasing
the key erases every copy (crypto-shredding). Contracts: shared/contracts/sealed.py, person.py."""

from shared.privacy.keyring import (
    KEY_TABLES, ErasedKey, PersonKeyRecord, erased_people, forget_keys, identities_of, issue_keys, keys_held, store_copies,
)
from shared.privacy.master_keys import KeyUnavailable, KeyWrapper, LocalMasterKeys, SealingSettings, master_keys_from
from shared.privacy.sealing import Identities, PersonKey, seal_model, seal_text

__all__ = [
    "KEY_TABLES", "ErasedKey", "Identities", "KeyUnavailable", "KeyWrapper", "LocalMasterKeys", "PersonKey", "PersonKeyRecord", "SealingSettings",
    "erased_people", "forget_keys", "identities_of", "issue_keys", "keys_held", "master_keys_from", "seal_model", "seal_text", "store_copies",
]
