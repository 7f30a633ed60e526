"""Withdrawing a consent the person gave at intake (issue 15), where it is recorded: a row of its own
and, in the same transaction, `person.consents` through the outbox, which whatever sends the person
outside Songtor reads to stop (reporting's feed to the national drug-rehabilitation system บสต.).

Consent is given again only by a later intake that records it; for each person the latest answer
stands (a rehabilitation or CI-centre intake's, as of its `consent.recorded_at`, or a withdrawal's, as
of its `withdrawn_at`), so nothing here is ever undone or overwritten.
"""

import json
import uuid
from datetime import UTC, datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from intake.models import ConsentWithdrawal, IntakeRecord
from shared import ids
from shared.contracts.person import PersonConsentWithdrawnV1
from shared.db import add_to_outbox
from shared.topics import Topics

NATIONAL_SYSTEM = "national_system"


async def intakes_of(session: AsyncSession, *, person_ref: str) -> list[tuple[str, str]]:
    """The (org unit, province) of each of the person's intakes: who took them in, and where."""
    rows = await session.exec(select(IntakeRecord.org_unit, IntakeRecord.province_code)
                              .where(IntakeRecord.person_ref == person_ref).distinct())
    return sorted((org_unit, province) for org_unit, province in rows.all())


def withdraw(session: AsyncSession, *, person_ref: str, consent: str, reason: str, actor: str,
             intakes: list[tuple[str, str]], topics: Topics) -> ConsentWithdrawal:
    """Record the withdrawal and queue its event; the caller commits. `actor` is the token's subject."""
    now, withdrawal_id = datetime.now(UTC), str(uuid.uuid4())
    record = ConsentWithdrawal(withdrawal_id=withdrawal_id, person_ref=person_ref, scope=consent, reason=reason,
                               withdrawn_by=actor, withdrawn_at=now, places_json=json.dumps(intakes))
    session.add(record)
    event = PersonConsentWithdrawnV1(
        event_id=ids.derived_event_id(source_id=withdrawal_id, purpose="consent-withdrawn"), occurred_at=now,
        correlation_id=f"consent-withdrawal:{withdrawal_id}", producer="intake", withdrawal_id=withdrawal_id,
        person_ref=person_ref, consent=consent, withdrawn_at=now, withdrawn_by=actor)
    add_to_outbox(session, topic=topics.person_consents, key=person_ref, event=event)
    return record


async def withdrawal_of(session: AsyncSession, *, withdrawal_id: str, consent: str) -> ConsentWithdrawal | None:
    record = await session.get(ConsentWithdrawal, withdrawal_id)
    return record if record is not None and record.scope == consent else None


def places_of(record: ConsentWithdrawal) -> list[tuple[str, str]]:
    return [(org_unit, province) for org_unit, province in json.loads(record.places_json)]
