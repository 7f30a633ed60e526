"""Routing's retention rule (docs/retention.md). Routing keeps the agency view of the person only
while a need waits for triage, and clears it when the need is triaged (repository.record_triage);
what lingered was the need's free-text note, which only triage reads. Once a need is routed or
triaged, its note (and, should one remain, the person) goes after the configured period."""

from sqlalchemy import or_

from routing.models import RoutingDecision
from routing.settings import RoutingSettings
from shared.db.retention import Purge, RetentionRule
from shared.retention.rules import days


def routing_purges(settings: RoutingSettings) -> list[Purge]:
    decisions = RoutingDecision.__table__
    return [
        RetentionRule(
            name="routing.need_note", table=decisions, age=decisions.c.decided_at,
            max_age=days(settings.retention.routed_note_days),
            # A need still waiting for triage keeps both: triage sends them on to the agency.
            where=(decisions.c.state != "unroutable")
            & or_(decisions.c.need_note.is_not(None), decisions.c.person_json.is_not(None)),
            scrub={"need_note": None, "person_json": None},
        ),
    ]
