"""What an agency sees of a referral and of its moves: identity, contact and need, never the
intake source programme. Shared by the workbench API and the webhook payload."""

import json

from agency_adapters.models import AgencyReferral, ReferralMove


def agency_view(referral: AgencyReferral) -> dict:
    return {
        "referral_id": referral.referral_id,
        "agency": referral.agency,
        "province_code": referral.province_code,
        "need_code": referral.need_code,
        "need_note": referral.need_note,
        "category": referral.category,
        "person": json.loads(referral.person_json),
        "status": referral.status,
        "version": referral.version,
        "outcome_code": referral.outcome_code,
        "outcome_details": json.loads(referral.outcome_details_json),
        "reason_code": referral.reason_code,
        "note": referral.note,
        "transferred_from": referral.transferred_from,
        "transferred_to": referral.transferred_to,
        "assigned_at": referral.assigned_at.isoformat(),
        "updated_at": referral.updated_at.isoformat(),
    }


def move_view(move: ReferralMove) -> dict:
    return {
        "version": move.version,
        "status": move.status,
        "previous_status": move.previous_status,
        "actor": move.actor,
        "at": move.at.isoformat(),
        "outcome_code": move.outcome_code,
        "details": json.loads(move.outcome_details_json),
        "reason_code": move.reason_code,
        "reason": move.reason,
        "note": move.note,
    }
