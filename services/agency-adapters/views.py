"""What an agency sees of a referral and of its moves: identity, contact and need, never the
intake source programme. Shared by the workbench API and the webhook payload.

The referral is stored as it arrived, its person's identity and the need's note sealed, and so are
the words staff typed with each move; they are opened here, for the answer only, with the keys this
service holds. A person whose key is gone
(erased) shows as erased: the referral, its need and its history stay."""

import json
from typing import Any

from agency_adapters.models import AgencyReferral, ReferralMove
from agency_adapters.repository import RECEIVED_VERSION

# What retention leaves of the person of a long-closed referral (retention.py): JSON null, since
# the column cannot be NULL in tables made before (no migrations yet, issue 16).
PURGED_PERSON_JSON = "null"
from shared.contracts import AgencyPerson, Sealed
from shared.privacy import Identities
from shared.privacy.sealing import MOVE_NOTE, MOVE_REASON, note_field


def person_view(referral: AgencyReferral, *, identities: Identities) -> dict[str, Any] | None:
    """None once retention removed the person of a long-closed referral (retention.py)."""
    if referral.person_json == PURGED_PERSON_JSON:
        return None
    person = AgencyPerson.model_validate_json(referral.person_json)
    identity = identities.identity(person.identity, person_ref=referral.person_ref)
    return {
        "national_id": identity.national_id if identity else None,
        "full_name": identity.full_name if identity else None,
        "phone": identity.phone if identity else None,
        "worker_type": person.worker_type,
        "address": person.address.model_dump(),
        "erased": identity is None,
    }


def need_note(referral: AgencyReferral, *, identities: Identities) -> str | None:
    if not referral.need_note:
        return None
    return identities.text(Sealed.model_validate_json(referral.need_note), person_ref=referral.person_ref,
                           field=note_field(referral.need_code))


def agency_view(referral: AgencyReferral, *, identities: Identities) -> dict:
    return {
        "referral_id": referral.referral_id,
        "agency": referral.agency,
        "province_code": referral.province_code,
        "need_code": referral.need_code,
        "need_note": need_note(referral, identities=identities),
        "category": referral.category,
        "person": person_view(referral, identities=identities),
        "status": referral.status,
        "version": referral.version,
        "outcome_code": referral.outcome_code,
        "outcome_details": json.loads(referral.outcome_details_json),
        "reason_code": referral.reason_code,
        "note": _words(referral.note, person_ref=referral.person_ref, field=MOVE_NOTE, identities=identities),
        "transferred_from": referral.transferred_from,
        "transferred_to": referral.transferred_to,
        "assigned_at": referral.assigned_at.isoformat(),
        "updated_at": referral.updated_at.isoformat(),
    }


def move_view(move: ReferralMove, *, person_ref: str, identities: Identities) -> dict:
    # The first two moves are the system's (assignment, receipt), their words about routing only.
    staff = move.version > RECEIVED_VERSION
    return {
        "version": move.version,
        "status": move.status,
        "previous_status": move.previous_status,
        "actor": move.actor,
        "at": move.at.isoformat(),
        "outcome_code": move.outcome_code,
        "details": json.loads(move.outcome_details_json),
        "reason_code": move.reason_code,
        "reason": _words(move.reason, person_ref=person_ref, field=MOVE_REASON, identities=identities) if staff else move.reason,
        "note": _words(move.note, person_ref=person_ref, field=MOVE_NOTE, identities=identities) if staff else move.note,
    }


def _words(stored: str | None, *, person_ref: str, field: str, identities: Identities) -> str | None:
    """A move's reason or note, sealed as its event carried it; None once the person is erased."""
    if not stored:
        return None
    return identities.text(Sealed.model_validate_json(stored), person_ref=person_ref, field=field)
