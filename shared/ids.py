"""Deterministic ids, so that a replayed or re-processed message produces the same ids and every
consumer's inbox can recognise what it already applied."""

import hashlib
import hmac
import uuid

# Fixed namespace for Songtor's name-based UUIDs; changing it would change every derived id.
_NAMESPACE = uuid.UUID("6d1f5a0e-2b9c-4f3e-8a71-5e0c9d4b7a21")


def referral_id(*, intake_id: str, need_code: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"referral/{intake_id}/{need_code}"))


def transferred_referral_id(*, referral_id: str, to_agency: str) -> str:
    """The referral that continues `referral_id` at another agency."""
    return str(uuid.uuid5(_NAMESPACE, f"transfer/{referral_id}/{to_agency}"))


def derived_event_id(*, source_id: str, purpose: str) -> uuid.UUID:
    """Id of an event caused by `source_id` (an event or entity id) for one `purpose`."""
    return uuid.uuid5(_NAMESPACE, f"event/{source_id}/{purpose}")


def person_ref(*, national_id: str, key: str) -> str:
    """Pseudonymous reference to a person: a keyed hash, so it cannot be reversed by
    hashing all 13-digit numbers without the key."""
    digest = hmac.new(key.encode(), national_id.encode(), hashlib.sha256).hexdigest()
    return digest[:24]
