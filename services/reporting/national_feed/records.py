"""What a national record says, built from Songtor's events. Pure: no I/O.

Delivery ids derive from what the record is about (the person; a referral and its version), so
the live feed, a redelivered event and a backfill of the same period all name the same record
with the same id, and a record is stored, and sent, once.
"""

import json
import uuid
from datetime import datetime
from typing import Any

from reporting.national_feed.contract import Assistance, Centre, NationalCategory, NationalRecordV1, Outcome
from reporting.national_feed.mapping import AssistanceMap
from shared.catalog.outcomes import OutcomeCatalog
from shared.contracts import ReferralAssignedV2, ReferralUpdatedV2

FED_PROGRAMS = ("rehab_center", "ci_center")
_NAMESPACE = uuid.UUID("5b1c7f0e-2d43-4a8e-9a61-0c3f6e7d2b94")


def person_delivery_id(person_ref: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"person/{person_ref}"))


def assistance_delivery_id(referral_id: str, version: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"assistance/{referral_id}/{version}"))


def _category(found: Any) -> NationalCategory:
    return NationalCategory(code=found.code, label_th=found.label_th)


def person_body(*, person_ref: str, centre: Centre, occurred_at: datetime, mapping: AssistanceMap) -> dict:
    return _body(delivery_id=person_delivery_id(person_ref), person_ref=person_ref, kind="person",
                 occurred_at=occurred_at, mapping=mapping, centre=centre)


def requested_body(*, event: ReferralAssignedV2, person_ref: str, centre: Centre, mapping: AssistanceMap) -> dict:
    assistance = Assistance(
        assistance_id=event.referral_id, need_code=event.need_code, agency=event.agency, status="assigned", version=1,
        national_category=_category(mapping.for_need(agency=event.agency, category=event.category)),
        transferred_from=event.transferred_from)
    return _body(delivery_id=assistance_delivery_id(event.referral_id, 1), person_ref=person_ref, kind="assistance",
                 occurred_at=event.occurred_at, mapping=mapping, centre=centre, assistance=assistance)


def change_body(*, event: ReferralUpdatedV2, previous: dict, mapping: AssistanceMap, outcomes: OutcomeCatalog) -> dict:
    """A change of a help already sent (`previous`, the body of its latest record so far): what
    this one corrects, with the same need, category and centre."""
    before = previous["assistance"]
    outcome = None
    if event.status == "completed" and event.outcome_code:
        definition = outcomes.outcomes.get((event.agency, event.outcome_code))
        national = mapping.for_outcome(agency=event.agency, outcome_code=event.outcome_code)
        outcome = Outcome(code=event.outcome_code, label_th=definition.label_th if definition else event.outcome_code,
                          national_category=_category(national) if national else NationalCategory(**before["national_category"]),
                          details=dict(event.outcome_details))
    assistance = Assistance(
        assistance_id=event.referral_id, need_code=before["need_code"], agency=event.agency, status=event.status,
        version=event.version, national_category=NationalCategory(**before["national_category"]), outcome=outcome,
        reason_code=event.reason_code, transferred_from=before.get("transferred_from"),
        transferred_to=event.transferred_to)
    return _body(delivery_id=assistance_delivery_id(event.referral_id, event.version), person_ref=previous["person_id"],
                 kind="assistance", occurred_at=event.occurred_at, mapping=mapping,
                 centre=Centre(**previous["centre"]), assistance=assistance, replaces=previous["delivery_id"])


def _body(*, delivery_id: str, person_ref: str, kind: str, occurred_at: datetime, mapping: AssistanceMap,
          centre: Centre, assistance: Assistance | None = None, replaces: str | None = None) -> dict:
    # Validated through the contract now (sequence and identity are added when sent), so a
    # record that could not be sent is refused here, with the event that made it.
    record = NationalRecordV1(delivery_id=uuid.UUID(delivery_id), person_id=person_ref, sequence=1, kind=kind,
                              occurred_at=occurred_at, mapping_version=mapping.version, centre=centre,
                              assistance=assistance, replaces=uuid.UUID(replaces) if replaces else None)
    return json.loads(record.model_dump_json(by_alias=True, exclude={"sequence", "person"}))


def record_to_send(*, body_json: str, sequence: int, identity: dict | None) -> bytes:
    """The bytes sent: the stored body with its place in the person's order and, on a person
    record, who they are (opened just now with the person's key)."""
    record = NationalRecordV1.model_validate({**json.loads(body_json), "sequence": sequence, "person": identity})
    return record.model_dump_json(by_alias=True).encode()
