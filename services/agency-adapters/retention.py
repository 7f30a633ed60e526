"""The agency adapters' retention rules (docs/retention.md): once a referral has been closed for
the configured period, its copy of the person and the free text about them go; the referral
stays (ids, need, status, outcome, dates), so the agency's history and counts still hold.

The person column (its sealed identity, contact and address) is replaced whole by
PURGED_PERSON_JSON: the views read it as `"person": null`."""

from sqlalchemy import exists, or_, select

from agency_adapters.models import AgencyReferral, ReferralMove
from agency_adapters.repository import RECEIVED_VERSION
from agency_adapters.settings import AgencySettings
from agency_adapters.views import PURGED_PERSON_JSON
from shared.db.retention import Purge, RetentionRule
from shared.retention.rules import CLOSED_STATUSES, days



def agency_purges(settings: AgencySettings) -> list[Purge]:
    period = days(settings.retention.closed_referral_days)
    referrals, moves = AgencyReferral.__table__, ReferralMove.__table__
    closed = referrals.c.status.in_(CLOSED_STATUSES)
    of_move = referrals.c.referral_id == moves.c.referral_id
    return [
        # The free text of the agency's own moves (a reason for a transfer or cancellation, a note):
        # written by people about a person. The first two moves are the system's (how the referral
        # came, its receipt) and say nothing of the person.
        RetentionRule(
            name="agency.move_notes", table=moves, max_age=period,
            age=select(referrals.c.updated_at).where(of_move, closed).scalar_subquery(),
            where=(moves.c.version > RECEIVED_VERSION) & or_(moves.c.note.is_not(None), moves.c.reason.is_not(None))
            & exists().where(of_move, closed),
            scrub={"note": None, "reason": None},
        ),
        RetentionRule(
            name="agency.person", table=referrals, age=referrals.c.updated_at, max_age=period,
            where=closed & or_(referrals.c.person_json != PURGED_PERSON_JSON, referrals.c.need_note.is_not(None),
                               referrals.c.note.is_not(None)),
            scrub={"person_json": PURGED_PERSON_JSON, "need_note": None, "note": None},
        ),
    ]
