"""What the intake API shows of a stored intake: the published event, its sealed fields opened with
the person's key. A person whose key is gone (erased) shows as erased; the rest of the intake stays."""

import json
from typing import Any

from intake.models import IntakeRecord, ReferralStatusRecord
from shared.contracts import NeedItem, Person
from shared.privacy import Identities
from shared.privacy.sealing import note_field


def person_view(person: Person, *, person_ref: str, identities: Identities) -> dict[str, Any]:
    identity = identities.identity(person.identity, person_ref=person_ref)
    born = identities.birth_date(person.birth_date, person_ref=person_ref) if identity else None
    return {
        "national_id": identity.national_id if identity else None,
        "full_name": identity.full_name if identity else None,
        "phone": identity.phone if identity else None,
        "birth_date": born.isoformat() if born else None,
        "sex": person.sex,
        "worker_type": person.worker_type,
        "address": person.address.model_dump(),
        "erased": identity is None,
    }


def intake_view(record: IntakeRecord, statuses: list[ReferralStatusRecord], *, identities: Identities) -> dict[str, Any]:
    """The person is null once retention removed it from the stored event (docs/retention.md)."""
    event = json.loads(record.event_json)
    ref = record.person_ref
    needs = [NeedItem.model_validate(need) for need in event["needs"]]
    return {
        "intake_id": record.intake_id,
        "received_at": record.received_at.isoformat(),
        "submitted_by": record.submitted_by,
        "source": event["source"],
        "person": (None if event.get("person") is None
                   else person_view(Person.model_validate(event["person"]), person_ref=ref, identities=identities)),
        "needs": [{"code": need.code, "note": identities.text(need.note, person_ref=ref, field=note_field(need.code))}
                  for need in needs],
        "consent": event["consent"],
        "joined_open_referrals": event.get("joined", []),
        "warnings": json.loads(record.warnings_json),
        "referrals": [
            {"referral_id": s.referral_id, "need_code": s.need_code, "agency": s.agency, "status": s.status,
             "updated_at": s.updated_at.isoformat()}
            for s in statuses
        ],
    }
