"""Where a need is routed: pure functions from an intake and the need catalog to the events
that refer each need onward. No I/O."""

from dataclasses import dataclass
from datetime import datetime

from shared import ids
from shared.catalog import NeedCatalog
from shared.contracts import AgencyPerson, IntakeSubmittedV1, NeedUnroutableV1, ReferralAssignedV1

PRODUCER = "routing"


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic_kind: str  # "assigned" or "unroutable"
    key: str
    event: ReferralAssignedV1 | NeedUnroutableV1


def agency_view_of(intake: IntakeSubmittedV1) -> AgencyPerson:
    """Only what an agency needs to act; the source programme never leaves routing (PDPA s.26)."""
    person = intake.person
    return AgencyPerson(
        national_id=person.national_id,
        full_name=person.full_name,
        phone=person.phone,
        worker_type=person.worker_type,
        address=person.address,
    )


def route_intake(*, intake: IntakeSubmittedV1, catalog: NeedCatalog, routed_at: datetime) -> list[Outgoing]:
    """One event per need referred onward; needs delivered at intake produce none."""
    outgoing: list[Outgoing] = []
    person = agency_view_of(intake)
    envelope = {"occurred_at": routed_at, "correlation_id": intake.intake_id, "producer": PRODUCER}
    for need in intake.needs:
        referral_id = ids.referral_id(intake_id=intake.intake_id, need_code=need.code)
        definition = catalog.get(need.code)
        if definition is not None and definition.delivered_at_intake:
            continue
        if definition is None or definition.agency is None:
            outgoing.append(
                Outgoing(
                    "unroutable",
                    referral_id,
                    NeedUnroutableV1(
                        event_id=ids.derived_event_id(source_id=referral_id, purpose="unroutable"),
                        **envelope,
                        referral_id=referral_id,
                        intake_id=intake.intake_id,
                        need_code=need.code,
                        reason=f"need code '{need.code}' is not in need catalog {catalog.version}",
                    ),
                )
            )
            continue
        outgoing.append(
            Outgoing(
                "assigned",
                referral_id,
                ReferralAssignedV1(
                    event_id=ids.derived_event_id(source_id=referral_id, purpose="assigned"),
                    **envelope,
                    referral_id=referral_id,
                    intake_id=intake.intake_id,
                    agency=definition.agency,
                    need_code=need.code,
                    need_note=need.note,
                    category=definition.category,
                    person_ref=intake.person_ref,
                    person=person,
                    catalog_version=catalog.version,
                    routing_rule=f"need:{need.code}",
                ),
            )
        )
    return outgoing
