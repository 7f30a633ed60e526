"""Sealed values: personal fields encrypted with a key of the person's own (crypto-shredding).

An event carries a person's identity, birth date and free-text notes only sealed, beside the
person's pseudonymous `person_ref`. Whoever holds the person's key (intake, which issues it, and
the services it is spread to on `person.keys`) can open them; routing and the counts never can.
When the person is erased, every copy of the key is deleted and the log's ciphertexts stay
unreadable forever: the events, and every rebuild from them, keep their facts without the person.

The associated data of each ciphertext binds it to its field, the event it was sealed in, the
person and the key (`shared/privacy/sealing.py`), so that a sealed value moved to another field,
another event's person or another key does not open.
"""

from pydantic import BaseModel, ConfigDict, Field


class Sealed(BaseModel):
    """A value that only the holders of its person's key can read (AES-256-GCM)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    key_id: str = Field(description="Which of the person's keys sealed it (see `person.keys`).",
                        examples=["5f0c2a9e7d3b1c48"])
    sealed_in: str = Field(description="The event it was first sealed in; part of the associated data. A value "
                           "passed on unchanged (routing hands the identity from the intake to the assignment) "
                           "keeps it.", examples=["0b6f3c52-3c1f-5a57-9a53-0f1f7b2f1d11"])
    nonce: str = Field(description="96-bit nonce, base64.", examples=["q3xv0lI0dE2m7l2Q"])
    ciphertext: str = Field(description="Ciphertext and 128-bit tag, base64.", examples=["W4d1…"])


class SealedIdentity(BaseModel):
    """What is sealed as a person's `identity`: who they are and how to reach them. The agencies'
    view opens to exactly this (never the birth date, sealed apart)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    national_id: str = Field(examples=["3640100456781"])
    full_name: str = Field(examples=["สมชาย ใจดี"])
    phone: str | None = Field(default=None, examples=["0812345678"])
