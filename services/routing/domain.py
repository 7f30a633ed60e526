"""Where a need is routed: pure functions from an intake and the need catalog to a decision per
need and the event that refers it onward. No I/O."""

from dataclasses import dataclass
from datetime import datetime

from shared import ids
from shared.catalog import NeedCatalog, RouteDecision
from shared.contracts import (
    AgencyPerson,
    EventEnvelope,
    IntakeSubmittedV2,
    NeedUnroutableV1,
    ReferralAssignedV2,
    Sealed,
    routed_from,
)
from shared.topics import Topics

PRODUCER = "routing"
UNROUTABLE_RULE = "unroutable"
MANUAL_RULE = "manual"


@dataclass(frozen=True, slots=True)
class Routed:
    """One need's decision and the event announcing it."""

    referral_id: str
    need_code: str
    need_note: Sealed | None  # free text, sealed: routing hands it on unopened
    decision: RouteDecision | None  # None: no rule matched
    event: ReferralAssignedV2 | NeedUnroutableV1


def agency_view_of(intake: IntakeSubmittedV2) -> AgencyPerson:
    """Only what an agency needs to act; the source programme never leaves routing (PDPA s.26).
    The identity is handed on sealed as intake sealed it: routing has no key and needs none."""
    person = intake.person
    return AgencyPerson(identity=person.identity, worker_type=person.worker_type, address=person.address)


def route_intake(*, intake: IntakeSubmittedV2, catalog: NeedCatalog, routed_at: datetime) -> list[Routed]:
    """One decision per need referred onward; needs served at intake produce none, and needs
    that joined an open referral are not in `intake.needs` at all."""
    routed: list[Routed] = []
    person = agency_view_of(intake)
    province = intake.person.address.province_code
    envelope = {"occurred_at": routed_at, "correlation_id": intake.intake_id, "producer": PRODUCER}
    for need in intake.needs:
        definition = catalog.get(need.code)
        if definition is not None and definition.delivered_at_intake:
            continue
        referral_id = ids.referral_id(intake_id=intake.intake_id, need_code=need.code)
        decision = catalog.route(need_code=need.code, province_code=province)
        if decision is None:
            event: ReferralAssignedV2 | NeedUnroutableV1 = NeedUnroutableV1(
                event_id=ids.derived_event_id(source_id=referral_id, purpose="unroutable"),
                **envelope,
                referral_id=referral_id,
                intake_id=intake.intake_id,
                need_code=need.code,
                reason=f"need code '{need.code}' is not in need catalog {catalog.version}",
            )
        else:
            event = assignment_event(
                referral_id=referral_id, intake_id=intake.intake_id, need_code=need.code, need_note=need.note,
                decision=decision, person=person, person_ref=intake.person_ref,
                catalog_version=catalog.version, event_id=ids.derived_event_id(source_id=referral_id, purpose="assigned"),
                envelope=envelope,
            )
        routed.append(Routed(referral_id, need.code, need.note, decision, event))
    return routed


def announcements(
    event: ReferralAssignedV2 | NeedUnroutableV1, *, topics: Topics
) -> list[tuple[str, EventEnvelope]]:
    """(topic, event) pairs that announce one decision, all keyed by its referral id. An
    assignment goes to its agency's topic with the person, and its person-free twin to
    `referral.routed` for those that need only the status (least knowledge)."""
    if isinstance(event, NeedUnroutableV1):
        return [(topics.referral_unroutable, event)]
    return [(topics.referral_assigned(event.agency), event), (topics.referral_routed, routed_from(event))]


def assignment_event(
    *,
    referral_id: str,
    intake_id: str,
    need_code: str,
    need_note: Sealed | None,
    decision: RouteDecision,
    person: AgencyPerson,
    person_ref: str,
    catalog_version: str,
    event_id,  # noqa: ANN001
    envelope: dict,
) -> ReferralAssignedV2:
    return ReferralAssignedV2(
        event_id=event_id,
        **envelope,
        referral_id=referral_id,
        intake_id=intake_id,
        agency=decision.agency,
        need_code=need_code,
        need_note=need_note,
        category=decision.category,
        person_ref=person_ref,
        person=person,
        catalog_version=catalog_version,
        routing_rule=decision.rule,
    )


# What is left of a triage reason once its person is erased: staff's words may have named them.
ERASED_REASON = "(erased with the person)"


def triage_explanation(*, agency: str, actor: str, reason: str) -> str:
    return f"Routed to {agency} by {actor} at triage: {reason}"


def manual_decision(*, agency: str, category: str, actor: str, reason: str) -> RouteDecision:
    """A person's triage of a need no rule matched."""
    return RouteDecision(
        agency=agency,  # type: ignore[arg-type]
        category=category,  # type: ignore[arg-type]
        rule=MANUAL_RULE,
        explanation=triage_explanation(agency=agency, actor=actor, reason=reason),
    )
