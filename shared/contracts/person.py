"""person.keys v1: a person's key, wrapped by a master key, for the services that open personal
data. A compacted topic keyed by person_ref: the latest record of each person is their key, and
an erasure writes a tombstone (a record with no value) that compaction turns into nothing."""

from typing import Literal

from pydantic import Field

from shared.contracts.envelope import EventEnvelope


class PersonKeyIssuedV1(EventEnvelope):
    """The key that seals a person's identity, birth date and notes, wrapped by a master key.

    Published by intake when it first takes in the person (before the intake that needs it, in the
    same outbox order), on `person.keys`, keyed by person_ref. Read by the agency adapters and
    reporting, which keep a copy; never by routing, an agency's own system or ops."""

    event_type: Literal["person.key_issued"] = "person.key_issued"
    schema_version: Literal[1] = 1
    person_ref: str = Field(description="Pseudonymous person reference: keyed hash of the national ID.",
                            examples=["9f2c4e1a0b7d3e58a1c2d3e4"])
    key_id: str = Field(description="The key's id; sealed values name the key that sealed them.",
                        examples=["5f0c2a9e7d3b1c48"])
    kek_id: str = Field(description="The master key that wrapped it.", examples=["2026a"])
    wrapped_key: str = Field(description="The person's 256-bit key, wrapped (AES-256-GCM: nonce, ciphertext and "
                             "tag), base64; associated data binds it to person_ref and key_id.")
