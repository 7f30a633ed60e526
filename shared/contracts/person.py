"""The person's own events. person.keys v1: a person's key, wrapped by a master key, for the
services that open personal data; a compacted topic keyed by person_ref, where the latest record
of each person is their key and an erasure writes a tombstone (a record with no value) that
compaction turns into nothing. person.erasures v1 and person.erasures.confirmed v1: an erasure
asked for, and each service's confirmation. person.consents v1: a consent the person withdrew."""

from typing import Literal

from pydantic import AwareDatetime, Field

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


class PersonErasureRequestedV1(EventEnvelope):
    """A provincial office asked for a person's data to be erased (PDPA s.33). Published by intake
    on `person.erasures`, keyed by person_ref, after it deleted its own copies and its key; every
    service that holds anything of the person deletes it and confirms. Carries no identity."""

    event_type: Literal["person.erasure_requested"] = "person.erasure_requested"
    schema_version: Literal[1] = 1
    erasure_id: str = Field(description="The request's id (GET :8081/v1/erasures/{erasure_id}).",
                            examples=["7c0e7f0a-1d2b-4c3d-8e9f-0a1b2c3d4e5f"])
    person_ref: str = Field(description="Whom to erase: the pseudonymous person reference.",
                            examples=["9f2c4e1a0b7d3e58a1c2d3e4"])
    requested_at: AwareDatetime = Field(description="When the office asked (UTC).")


class PersonErasureConfirmedV1(EventEnvelope):
    """A service erased what it held of a person. Published on `person.erasures.confirmed`, keyed by
    person_ref; intake shows each service's confirmation on the request."""

    event_type: Literal["person.erasure_confirmed"] = "person.erasure_confirmed"
    schema_version: Literal[1] = 1
    erasure_id: str = Field(description="The request confirmed.", examples=["7c0e7f0a-1d2b-4c3d-8e9f-0a1b2c3d4e5f"])
    person_ref: str = Field(examples=["9f2c4e1a0b7d3e58a1c2d3e4"])
    service: str = Field(description="Who confirms.", examples=["reporting"])
    removed: dict[str, int] = Field(default_factory=dict, description="What it deleted or redacted, by place.",
                                    examples=[{"person_keys": 1, "published_reports": 2}])


class PersonConsentWithdrawnV1(EventEnvelope):
    """A person withdrew a consent they gave at intake. Published by intake on `person.consents`,
    keyed by person_ref, when an intake clerk or the provincial office records the withdrawal
    (`POST :8081/v1/consents/national-system/withdrawals`). Carries no identity and not the reason.

    For `national_system` (the national drug-rehabilitation system บสต., followed by ONCB / สำนักงาน
    ป.ป.ส.): from `withdrawn_at` nothing more about the person is sent there. Consent is given again
    only by a later intake whose `consent.share_with_national_system` is true: for each person the
    latest answer stands, a rehab_center or ci_center intake's as of its `consent.recorded_at` (never
    later than its `received_at`) or a withdrawal's as of its `withdrawn_at`."""

    event_type: Literal["person.consent_withdrawn"] = "person.consent_withdrawn"
    schema_version: Literal[1] = 1
    withdrawal_id: str = Field(description="The withdrawal's id "
                               "(GET :8081/v1/consents/national-system/withdrawals/{withdrawal_id}).",
                               examples=["3b1d6c0e-5f2a-4e8b-9c7d-1a2b3c4d5e6f"])
    person_ref: str = Field(description="Whose consent: the pseudonymous person reference.",
                            examples=["9f2c4e1a0b7d3e58a1c2d3e4"])
    consent: Literal["national_system"] = Field(
        description="Which consent was withdrawn: `national_system`, the intake's "
        "`consent.share_with_national_system`.", examples=["national_system"])
    withdrawn_at: AwareDatetime = Field(description="When the withdrawal was recorded (UTC): what is sent after it "
                                        "about the person stops.", examples=["2026-12-01T03:15:00Z"])
    withdrawn_by: str = Field(description="Who recorded it: the officer's account (the token's subject), "
                              "not the person.", examples=["clerk-6406"])
