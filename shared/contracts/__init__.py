"""Versioned event contracts.

A breaking change is a new class with a new `schema_version`, never an edit of an old one.
Every field has a description and an example: they feed the generated AsyncAPI document.

Retired: `intake.submitted` v1 and `referral.assigned` v1 carried the person in clear, and
`referral.updated` v1 the words staff typed about them, which the log could then never forget
(issue 14). Their v2 seal those fields (sealed.py); a v1 record is refused by its consumers'
validation and dead-lettered with the reason. No deployment held v1
records when they were retired, so none had to be upcast.
"""

from shared.contracts.envelope import EventEnvelope
from shared.contracts.intake import (
    Address,
    Consent,
    IntakeSubmittedV2,
    JoinedNeed,
    NeedItem,
    Person,
    Source,
)
from shared.contracts.person import (
    PersonConsentWithdrawnV1,
    PersonErasureConfirmedV1,
    PersonErasureRequestedV1,
    PersonKeyIssuedV1,
)
from shared.contracts.report import ReportPublishedV1
from shared.contracts.sealed import Sealed, SealedIdentity
from shared.contracts.referral import (
    AgencyPerson,
    NeedUnroutableV1,
    ReferralAssignedV2,
    ReferralOverdueV1,
    ReferralRoutedV1,
    ReferralStatus,
    ReferralUpdatedV2,
    routed_from,
)

__all__ = [
    "Address",
    "AgencyPerson",
    "Consent",
    "EventEnvelope",
    "IntakeSubmittedV2",
    "JoinedNeed",
    "NeedItem",
    "NeedUnroutableV1",
    "Person",
    "PersonConsentWithdrawnV1",
    "PersonErasureConfirmedV1",
    "PersonErasureRequestedV1",
    "PersonKeyIssuedV1",
    "ReferralAssignedV2",
    "ReferralOverdueV1",
    "ReferralRoutedV1",
    "ReferralStatus",
    "ReferralUpdatedV2",
    "ReportPublishedV1",
    "Sealed",
    "SealedIdentity",
    "Source",
    "routed_from",
]
