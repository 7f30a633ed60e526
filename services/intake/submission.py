"""Taking in intakes: one from the API, or many from a sheet, through the same rules.

Validated requests are checked against the catalog, deduplicated against the person's open
referrals, stored with their outbox event in one transaction, then published by the outbox
relay, which is woken after the commit.

A group of submissions costs a few reads (the stored answers of its Idempotency-Keys, the claims
and open referrals of its people's needs) and one flush of its rows, whatever its size: a round
trip per row was most of a sheet's time. Each submission still gets the answer it would get alone
(see take_in).

Dedupe holds across processes: a need opened as a new referral claims (person, need) in
intake_open_need_claims (models.OpenNeedClaim). Two intakes of the same person and need committed
at the same moment both read no open referral, and the second one's claim fails on the key; its
group is rolled back and taken in again (submit_many), and then joins the first one's referral.
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
from intake.erasure import held_tombstones, issue_key_behind_erasure
from intake.clerk_errors import refusal_body
from intake.models import IdempotencyRecord
from intake.request import IntakeRequest
from intake.scope import Submitter, not_covered_body
from shared import ids
from shared.catalog import NeedCatalog
from shared.db import OutboxRelay, add_to_outbox
from shared.privacy import KeyWrapper, PersonKey
from shared.privacy.keyring import issue_key, keys_held
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
    # Wraps each person's key (shared/privacy): intake issues the keys that seal what it publishes.
    master_keys: KeyWrapper


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
        # Refused twice: the same Idempotency-Key arrived twice at once, and the first one's answer
        # stands (read by its key alone, whatever the group read).
        if submission.idempotency_key is not None:
            async with desk.sessions() as session:
                stored = await repository.get_idempotent(session, key=submission.idempotency_key)
            if stored is not None:
                return _replay(stored, submission)
        raise


async def submit_many(desk: IntakeDesk, submissions: Sequence[Submission]) -> list[Answer]:
    """Answers in the same order; all accepted ones are committed in one transaction."""
    try:
        return await _commit(desk, submissions)
    except IntegrityError:
        # Another process committed, since this group read them, a row the group was about to
        # write: the stored answer of one of its Idempotency-Keys, a new person's first key, or
        # the claim of a person's need. Nothing of the group was kept; taken in again, it reads
        # what that process committed and answers as after it: the key's answer replayed, the
        # intake sealed with that person key (keyring.issue_keys never overwrites one), the need
        # joined to that referral.
        return await _commit(desk, submissions)


async def _commit(desk: IntakeDesk, submissions: Sequence[Submission]) -> list[Answer]:
    async with desk.sessions() as session:
        answers = await take_in(session, desk, submissions)
        await session.commit()
    desk.relay.wake()  # publishes in its own loop: no caller waits for the broker
    return answers


async def take_in(session: AsyncSession, desk: IntakeDesk, submissions: Sequence[Submission]) -> list[Answer]:
    """Add the accepted submissions' rows to `session` (the caller flushes and commits) and answer
    each in order. A submission's answer is the one it would get alone, after the ones before it
    had committed: an Idempotency-Key used earlier in the group replays that answer, and a need
    referred earlier in the group is joined like an open referral (a sheet may list a person twice)."""
    today = datetime.now(UTC).date()
    # Checked first, on the one path every intake takes (the API and each row of a sheet), and
    # before a stored answer is replayed: a key never lets anyone past their org units.
    covered = [s.submitter.covers(s.request.source.org_unit) for s in submissions]
    keys = {s.idempotency_key for s, ok in zip(submissions, covered, strict=True) if ok and s.idempotency_key}
    stored = await repository.get_idempotent_many(session, keys=keys)
    # Refusals need no database: a group of them (or one alone) reads nothing more.
    errors = [domain.reference_errors(request=s.request, catalog=desk.catalog) if ok else []
              for s, ok in zip(submissions, covered, strict=True)]
    refs = [ids.person_ref(national_id=s.request.person.national_id, key=desk.person_ref_key) for s in submissions]
    takers = [i for i, ok in enumerate(covered) if ok and not errors[i]]
    people, codes = {refs[i] for i in takers}, {need.code for i in takers for need in submissions[i].request.needs}
    claims = await repository.claims_of(session, person_refs=people, need_codes=codes)  # first: see claims_of
    open_now = await repository.open_referrals_of(session, person_refs=people, need_codes=codes)
    # The keys the group's people have; a person taken in for the first time gets one as their
    # intake is accepted (_take_in_one), queued on person.keys ahead of the intake it seals.
    keys = await keys_held(session, wrapper=desk.master_keys, person_refs={refs[i] for i in takers})
    # Someone erased within the day and taken in again: their new key must not wait behind the
    # erasure's held-back tombstone (erasure.issue_key_behind_erasure).
    fresh = {refs[i] for i in takers if submissions[i].idempotency_key not in stored} - keys.keys()
    for person_ref, held in (await held_tombstones(session, topics=desk.topics, person_refs=fresh)).items():
        keys[person_ref] = issue_key_behind_erasure(session, held=held, wrapper=desk.master_keys)
    rows = repository.NewRows()
    answers = [
        _take_in_one(session, desk, submission, rows=rows, covered=ok, errors=refused, person_ref=person_ref,
                     keys=keys, today=today, stored=stored, open_now=open_now, claims=claims)
        for submission, ok, refused, person_ref in zip(submissions, covered, errors, refs, strict=True)
    ]
    await repository.insert_rows(session, rows=rows)
    return answers


def _take_in_one(
    session: AsyncSession,
    desk: IntakeDesk,
    submission: Submission,
    *,
    rows: repository.NewRows,
    covered: bool,
    errors: list[dict[str, Any]],
    person_ref: str,
    keys: dict[str, PersonKey],
    today: date,
    stored: dict[str, IdempotencyRecord | repository.StoredAnswer],
    open_now: dict[str, dict[str, str]],
    claims: dict[tuple[str, str], str],
) -> Answer:
    """One submission, with what the group checked and read beforehand; its rows go to `rows`,
    and `stored`, `open_now` and `keys` gain what it adds, for the ones after it."""
    request, key = submission.request, submission.idempotency_key
    if not covered:
        logger.info("intake refused: org unit %s is not covered by the submitter", request.source.org_unit)
        return Answer(403, not_covered_body(submission.submitter, request.source.org_unit))
    if key is not None and (earlier := stored.get(key)) is not None:
        return _replay(earlier, submission)
    if errors:
        return Answer(422, refusal_body(errors))
    if (person_key := keys.get(person_ref)) is None:
        person_key = keys[person_ref] = issue_key(session, wrapper=desk.master_keys, person_ref=person_ref,
                                                  topic=desk.topics.person_keys, producer="intake")

    intake_id = str(uuid.uuid4())
    codes = {need.code for need in request.needs}
    person_open = open_now.setdefault(person_ref, {})
    joined = {code: rid for code, rid in person_open.items() if code in codes}
    received_at = datetime.now(UTC)
    event = domain.build_intake_event(
        request=request,
        intake_id=intake_id,
        event_id=ids.derived_event_id(source_id=intake_id, purpose="submitted"),
        received_at=received_at,
        person_key=person_key,
        joined=joined,
    )
    referrals, delivered = domain.plan_referrals(event=event, catalog=desk.catalog)
    for planned in referrals:
        person_open[planned.need_code] = planned.referral_id
        rows.claim(person_ref=person_ref, need_code=planned.need_code, referral_id=planned.referral_id,
                   replacing=claims.get((person_ref, planned.need_code)))
    warnings = domain.intake_warnings(request=request, today=today)

    rows.add_intake(event=event, referrals=referrals, warnings=warnings, submitted_by=submission.submitter.subject)
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
        stored[key] = rows.add_answer(key=key, request_hash=submission.fingerprint or "", status_code=202, body=body)
    logger.info("intake accepted", extra={"correlation_id": intake_id})
    return Answer(202, body)


def _replay(stored: IdempotencyRecord | repository.StoredAnswer, submission: Submission) -> Answer:
    if submission.fingerprint and stored.request_hash and stored.request_hash != submission.fingerprint:
        return Answer(
            409,
            {"detail": "This Idempotency-Key was already used for a different intake. "
             "Use a new key for a new intake."},
        )
    return Answer(stored.status_code, json.loads(stored.response_json))
