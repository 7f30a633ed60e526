"""What the intake API shows of a stored intake: the published event, its sealed fields opened with
the person's key. A person whose key is gone (erased) shows as erased; the rest of the intake stays."""

import json
from typing import Any

from intake.models import IntakeRecord, ReferralStatusRecord
from shared.contracts import IntakeSubmittedV2
from shared.privacy import Identities
from shared.privacy.sealing import note_field


def person_view(event: IntakeSubmittedV2, *, identities: Identities) -> dict[str, Any]:
    person, ref = event.person, event.person_ref
    identity = identities.identity(person.identity, person_ref=ref)
    return {
        "national_id": identity.national_id if identity else None,
        "full_name": identity.full_name if identity else None,
        "phone": identity.phone if identity else None,
        "birth_date": (found.isoformat() if identity and (found := identities.birth_date(person.birth_date, person_ref=ref))
                       else None),
        "sex": person.sex,
        "worker_type": person.worker_type,
        "address": person.address.model_dump(),
        "erased": identity is None,
    }


def intake_view(record: IntakeRecord, statuses: list[ReferralStatusRecord], *, identities: Identities) -> dict[str, Any]:
    event = IntakeSubmittedV2.model_validate_json(record.event_json)
    return {
        "intake_id": record.intake_id,
        "received_at": record.received_at.isoformat(),
        "submitted_by": record.submitted_by,
        "source": event.source.model_dump(),
        "person": person_view(event, identities=identities),
        "needs": [{"code": need.code,
                   "note": identities.text(need.note, person_ref=event.person_ref, field=note_field(need.code))}
                  for need in event.needs],
        "consent": event.consent.model_dump(mode="json"),
        "joined_open_referrals": [joined.model_dump() for joined in event.joined],
        "warnings": json.loads(record.warnings_json),
        "referrals": [
            {"referral_id": s.referral_id, "need_code": s.need_code, "agency": s.agency, "status": s.status,
             "updated_at": s.updated_at.isoformat()}
            for s in statuses
        ],
    }
