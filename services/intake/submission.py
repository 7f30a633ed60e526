"""Taking in intakes: one from the API, or many from a sheet, through the same rules.

Validated requests are checked against the catalog, deduplicated against the person's open
referrals, stored with their outbox event in one transaction, then published.
"""

import hashlib
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from intake import domain, repository
from intake.clerk_errors import refusal_body
from intake.request import IntakeRequest
from intake.scope import Submitter, not_covered_body
from shared import ids
from shared.catalog import NeedCatalog
from shared.db import OutboxRelay, add_to_outbox
from shared.topics import Topics

logger = logging.getLogger("songtor.intake")


@dataclass(frozen=True, slots=True)
class IntakeDesk:
    """What taking in an intake needs; built once in the composition root."""

    catalog: NeedCatalog
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    topics: Topics
    person_ref_key: str


@dataclass(frozen=True, slots=True)
class Submission:
    request: IntakeRequest
    submitter: Submitter
    idempotency_key: str | None = None
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    body: dict[str, Any]


def fingerprint(body: bytes) -> str:
    """Identifies a request body, so a reused Idempotency-Key with another body is caught."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, ensure_ascii=False).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


async def submit_one(desk: IntakeDesk, submission: Submission) -> Answer:
    try:
        return (await submit_many(desk, [submission]))[0]
    except IntegrityError:
        # The same Idempotency-Key arrived twice at once: the first one's answer stands.
        if submission.idempotency_key is None:
            raise
        async with desk.sessions() as session:
            stored = await repository.get_idempotent(session, key=submission.idempotency_key)
        if stored is None:
            raise
        return _replay(stored, submission)


async def submit_many(desk: IntakeDesk, submissions: Sequence[Submission]) -> list[Answer]:
    """Answers in the same order; all accepted ones are committed in one transaction."""
    answers: list[Answer] = []
    today = datetime.now(UTC).date()
    async with desk.sessions() as session:
        # Needs referred earlier in this same batch count as open too (a sheet may list a
        # person twice).
        opened_here: dict[tuple[str, str], str] = {}
        for submission in submissions:
            answers.append(await _take_in(session, desk, submission, opened_here, today))
        await session.commit()
    await desk.relay.flush_or_defer()
    return answers


async def _take_in(
    session: AsyncSession,
    desk: IntakeDesk,
    submission: Submission,
    opened_here: dict[tuple[str, str], str],
    today: date,
) -> Answer:
    request, key = submission.request, submission.idempotency_key
    # Checked here, the one path every intake takes (the API and each row of a sheet), and
    # before a stored answer is replayed: a key never lets anyone past their org units.
    if not submission.submitter.covers(request.source.org_unit):
        logger.info("intake refused: org unit %s is not covered by the submitter", request.source.org_unit)
        return Answer(403, not_covered_body(submission.submitter, request.source.org_unit))
    if key is not None and (stored := await repository.get_idempotent(session, key=key)) is not None:
        return _replay(stored, submission)
    if errors := domain.reference_errors(request=request, catalog=desk.catalog):
        return Answer(422, refusal_body(errors))

    intake_id = str(uuid.uuid4())
    person_ref = ids.person_ref(national_id=request.person.national_id, key=desk.person_ref_key)
    codes = [need.code for need in request.needs]
    joined = await repository.open_referrals(session, person_ref=person_ref, need_codes=codes)
    joined |= {code: rid for (ref, code), rid in opened_here.items() if ref == person_ref and code in codes}
    received_at = datetime.now(UTC)
    event = domain.build_intake_event(
        request=request,
        intake_id=intake_id,
        event_id=ids.derived_event_id(source_id=intake_id, purpose="submitted"),
        received_at=received_at,
        person_ref=person_ref,
        joined=joined,
    )
    referrals, delivered = domain.plan_referrals(event=event, catalog=desk.catalog)
    for planned in referrals:
        opened_here[(person_ref, planned.need_code)] = planned.referral_id
    warnings = domain.intake_warnings(request=request, today=today)

    repository.add_intake(
        session, event=event, referrals=referrals, warnings=warnings, submitted_by=submission.submitter.subject
    )
    add_to_outbox(session, topic=desk.topics.intake_submitted, key=intake_id, event=event)
    body = {
        "intake_id": intake_id,
        "status_url": f"/v1/intakes/{intake_id}",
        "referrals": [{"need_code": r.need_code, "referral_id": r.referral_id} for r in referrals],
        "joined_open_referrals": [{"need_code": code, "referral_id": rid} for code, rid in joined.items()],
        "services_delivered_at_intake": delivered,
        "warnings": warnings,
    }
    if key is not None:
        repository.add_idempotent(session, key=key, request_hash=submission.fingerprint or "", status_code=202, body=body)
    logger.info("intake accepted", extra={"correlation_id": intake_id})
    return Answer(202, body)


def _replay(stored, submission: Submission) -> Answer:  # noqa: ANN001
    if submission.fingerprint and stored.request_hash and stored.request_hash != submission.fingerprint:
        return Answer(
            409,
            {"detail": "This Idempotency-Key was already used for a different intake. "
             "Use a new key for a new intake."},
        )
    return Answer(stored.status_code, json.loads(stored.response_json))
