"""How each event changes a referral fact. Pure: the handlers load and save the rows.

Events reach reporting from several topics in no guaranteed order (an assignment can arrive
before its intake), so every function merges: it fills what it knows and never moves the
status backwards.
"""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from reporting.models import AnyFact, IntakeServiceFact
from reporting.registry_stamps import STAMP_FIELDS, apply_stamp
from shared import ids
from shared.catalog import NeedCatalog
from shared.contracts import IntakeSubmittedV2, NeedUnroutableV1, ReferralAssignedV2, ReferralUpdatedV2

ASSIGNED_VERSION = 1
_FINAL = {"completed", "declined", "unreachable", "transferred", "cancelled"}
_INTAKE_FIELDS = (
    "has_intake", "province_code", "district_code", "subdistrict_code", "org_unit", "source_program",
    "worker_type", "intake_received_at", "intake_month", *STAMP_FIELDS,
)


def month_of(moment: datetime, *, zone: ZoneInfo) -> str:
    """Calendar month of a moment as the offices count it (Asia/Bangkok, not UTC)."""
    return moment.astimezone(zone).strftime("%Y-%m")


def referred_needs(*, intake: IntakeSubmittedV2, catalog: NeedCatalog) -> list[tuple[str, str]]:
    """(referral_id, need_code) of each need referred onward, as routing derives them."""
    return [
        (ids.referral_id(intake_id=intake.intake_id, need_code=need.code), need.code)
        for need in intake.needs
        if not _delivered_at_intake(need.code, catalog)
    ]


def services_at_intake(
    *, intake: IntakeSubmittedV2, catalog: NeedCatalog, zone: ZoneInfo, stamp: dict[str, Any]
) -> list[IntakeServiceFact]:
    """`stamp`: the person's registry stamp at the intake's time (registry_stamps.stamp_at)."""
    address = intake.person.address
    return [
        IntakeServiceFact(
            **stamp,
            intake_id=intake.intake_id,
            need_code=need.code,
            category=catalog.needs[need.code].category,
            province_code=address.province_code,
            district_code=address.district_code,
            org_unit=intake.source.org_unit,
            source_program=intake.source.program,
            worker_type=intake.person.worker_type,
            person_ref=intake.person_ref,
            intake_month=month_of(intake.received_at, zone=zone),
            intake_received_at=intake.received_at,
        )
        for need in intake.needs
        if _delivered_at_intake(need.code, catalog)
    ]


def apply_intake(
    fact: AnyFact, *, intake: IntakeSubmittedV2, need_code: str, zone: ZoneInfo, stamp: dict[str, Any]
) -> None:
    address = intake.person.address
    apply_stamp(fact, stamp=stamp)
    fact.intake_id = intake.intake_id
    fact.need_code = fact.need_code or need_code
    fact.has_intake = True
    fact.province_code = address.province_code
    fact.district_code = address.district_code
    fact.subdistrict_code = address.subdistrict_code
    fact.org_unit = intake.source.org_unit
    fact.source_program = intake.source.program
    fact.worker_type = intake.person.worker_type
    fact.person_ref = intake.person_ref
    fact.intake_received_at = intake.received_at
    fact.intake_month = month_of(intake.received_at, zone=zone)


def apply_assigned(fact: AnyFact, *, event: ReferralAssignedV2) -> None:
    fact.intake_id = event.intake_id
    fact.need_code = event.need_code
    fact.agency = event.agency
    fact.category = event.category
    fact.person_ref = fact.person_ref or event.person_ref
    # A need found unroutable and later routed by hand at triage becomes assigned.
    if fact.status_version < ASSIGNED_VERSION or fact.status == "unroutable":
        fact.status, fact.status_version = "assigned", ASSIGNED_VERSION


def inherit_intake(fact: AnyFact, *, origin: AnyFact) -> None:
    """A referral transferred to another agency continues the same intake: same place, month
    and person, so the forms count it where the original was counted."""
    for name in _INTAKE_FIELDS:
        setattr(fact, name, getattr(origin, name))


def apply_updated(fact: AnyFact, *, event: ReferralUpdatedV2, zone: ZoneInfo) -> None:
    fact.intake_id = event.intake_id
    fact.agency = fact.agency or event.agency
    if event.version <= fact.status_version:
        return  # an older move arriving late: the newer one already stands
    fact.status, fact.status_version = event.status, event.version
    fact.outcome_code = event.outcome_code
    fact.completed_month = month_of(event.occurred_at, zone=zone) if event.status in _FINAL else None


def apply_unroutable(fact: AnyFact, *, event: NeedUnroutableV1, catalog: NeedCatalog) -> None:
    fact.intake_id = event.intake_id
    fact.need_code = event.need_code
    definition = catalog.get(event.need_code)
    # A hand-routed assignment applied first already set the category it was routed under.
    fact.category = fact.category or (definition.category if definition else None)
    if fact.status_version < ASSIGNED_VERSION:
        fact.status, fact.status_version = "unroutable", ASSIGNED_VERSION


def _delivered_at_intake(code: str, catalog: NeedCatalog) -> bool:
    definition = catalog.get(code)
    return definition is not None and definition.delivered_at_intake
