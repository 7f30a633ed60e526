"""Versioned event contracts.

A breaking change is a new class with a new `schema_version`, never an edit of an old one.
Every field has a description and an example: they feed the generated AsyncAPI document.
"""

from shared.contracts.envelope import EventEnvelope
from shared.contracts.intake import (
    Address,
    Consent,
    IntakeSubmittedV1,
    JoinedNeed,
    NeedItem,
    Person,
    Source,
)
from shared.contracts.report import ReportPublishedV1
from shared.contracts.referral import (
    AgencyPerson,
    NeedUnroutableV1,
    ReferralAssignedV1,
    ReferralOverdueV1,
    ReferralRoutedV1,
    ReferralStatus,
    ReferralUpdatedV1,
    routed_from,
)

__all__ = [
    "Address",
    "AgencyPerson",
    "Consent",
    "EventEnvelope",
    "IntakeSubmittedV1",
    "JoinedNeed",
    "NeedItem",
    "NeedUnroutableV1",
    "Person",
    "ReferralAssignedV1",
    "ReferralOverdueV1",
    "ReferralRoutedV1",
    "ReferralStatus",
    "ReferralUpdatedV1",
    "ReportPublishedV1",
    "Source",
    "routed_from",
]
