"""Reads and writes of the intake service's tables. Keyword-only, session passed in."""

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from intake.domain import PlannedReferral
from intake.models import IdempotencyRecord, IntakeRecord, OpenNeedClaim, ReferralStatusRecord
from shared.contracts import IntakeSubmittedV2
from shared.db import get_for_update


# A need joins a referral in one of these states instead of opening a second one.
OPEN_STATUSES = ("submitted", "assigned", "received", "accepted", "in_progress")


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The first answer to an Idempotency-Key, as IdempotencyRecord replays it."""

    request_hash: str
    status_code: int
    response_json: str


@dataclass(slots=True)
class NewRows:
    """What a group of intakes adds to the intake's own tables, written by `insert_rows` with one
    multi-row INSERT per table: building an ORM object per row cost more than the rest of an
    intake. (The outbox rows go through shared.db.add_to_outbox, in the same transaction.)"""

    intakes: list[dict] = field(default_factory=list)
    statuses: list[dict] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)
    claims: list[dict] = field(default_factory=list)
    stale_claims: list[dict] = field(default_factory=list)

    def add_intake(
        self, *, event: IntakeSubmittedV2, referrals: list[PlannedReferral], warnings: list[dict], submitted_by: str
    ) -> None:
        self.intakes.append({
            "intake_id": event.intake_id,
            "received_at": event.received_at,
            "person_ref": event.person_ref,
            "program": event.source.program,
            "org_unit": event.source.org_unit,
            "province_code": event.person.address.province_code,
            "submitted_by": submitted_by,
            "event_json": event.model_dump_json(),
            "warnings_json": json.dumps(warnings, ensure_ascii=False),
        })
        self.statuses.extend(
            {"referral_id": planned.referral_id, "intake_id": event.intake_id, "need_code": planned.need_code,
             "person_ref": event.person_ref, "agency": None, "status": "submitted", "status_version": 0,
             "updated_at": event.received_at}
            for planned in referrals
        )

    def claim(self, *, person_ref: str, need_code: str, referral_id: str, replacing: str | None) -> None:
        """The person's need opened as `referral_id`; `replacing`: the stale claim read beforehand
        (its referral closed), or None when there was none."""
        if replacing is not None:
            self.stale_claims.append({"claim_person": person_ref, "claim_need": need_code, "claim_referral": replacing})
        self.claims.append({"person_ref": person_ref, "need_code": need_code, "referral_id": referral_id})

    def add_answer(self, *, key: str, request_hash: str, status_code: int, body: dict) -> StoredAnswer:
        """Keep the answer for retries with the same Idempotency-Key."""
        answer = StoredAnswer(request_hash, status_code, json.dumps(body, ensure_ascii=False))
        self.answers.append({"key": key, "request_hash": request_hash, "status_code": status_code,
                             "response_json": answer.response_json, "created_at": datetime.now(UTC)})
        return answer


def add_intake(
    session: AsyncSession,
    *,
    event: IntakeSubmittedV2,
    referrals: list[PlannedReferral],
    warnings: list[dict],
    submitted_by: str,
) -> None:
    """One intake's rows, added to the session as objects (the group path uses NewRows)."""
    rows = NewRows()
    rows.add_intake(event=event, referrals=referrals, warnings=warnings, submitted_by=submitted_by)
    session.add_all([IntakeRecord(**rows.intakes[0]), *(ReferralStatusRecord(**status) for status in rows.statuses)])


_CLAIMS = OpenNeedClaim.__table__
# Only the claim that was read: one another intake replaced meanwhile stays, and the INSERT after
# this fails on its key.
_DROP_STALE_CLAIM = delete(_CLAIMS).where(
    _CLAIMS.c.person_ref == bindparam("claim_person"), _CLAIMS.c.need_code == bindparam("claim_need"),
    _CLAIMS.c.referral_id == bindparam("claim_referral"))


async def insert_rows(session: AsyncSession, *, rows: NewRows) -> None:
    """The group's rows. A claim another process made since the group read the claims fails the
    INSERT (IntegrityError) and rolls the group back. Claims are written in key order, so two
    groups that claim the same needs wait for each other, never deadlock (PostgreSQL locks an
    uncommitted key until its transaction ends)."""
    claims = sorted(rows.claims, key=lambda c: (c["person_ref"], c["need_code"]))
    stale = sorted(rows.stale_claims, key=lambda c: (c["claim_person"], c["claim_need"]))
    if stale:
        connection = await session.connection()
        await connection.execute(_DROP_STALE_CLAIM, stale)
    for model, values in ((IntakeRecord, rows.intakes), (ReferralStatusRecord, rows.statuses),
                          (OpenNeedClaim, claims), (IdempotencyRecord, rows.answers)):
        if values:
            await session.exec(insert(model), params=values)


async def get_intake(
    session: AsyncSession, *, intake_id: str
) -> tuple[IntakeRecord, list[ReferralStatusRecord]] | None:
    record = await session.get(IntakeRecord, intake_id)
    if record is None:
        return None
    statuses = await session.exec(
        select(ReferralStatusRecord)
        .where(ReferralStatusRecord.intake_id == intake_id)
        .order_by(col(ReferralStatusRecord.need_code))
    )
    return record, list(statuses.all())


async def add_continuation(session: AsyncSession, *, referral_id: str, transferred_from: str) -> None:
    """A referral another agency continues (a transfer) is shown with the intake and counts as
    open for dedupe, like the one it replaces."""
    origin = await session.get(ReferralStatusRecord, transferred_from)
    if origin is None:
        return
    blank = ReferralStatusRecord(
        referral_id=referral_id, intake_id=origin.intake_id, need_code=origin.need_code, person_ref=origin.person_ref
    ).model_dump(exclude={"referral_id"})
    await get_for_update(session, ReferralStatusRecord, key={"referral_id": referral_id}, create=blank)


async def claims_of(
    session: AsyncSession, *, person_refs: Collection[str], need_codes: Collection[str]
) -> dict[tuple[str, str], str]:
    """(person_ref, need_code) -> the referral it was last opened as. Read before the open
    referrals (open_referrals_of), never after: a claim committed between the two reads would
    otherwise look stale next to a status read before it, and be replaced by a second opening."""
    if not person_refs or not need_codes:
        return {}
    rows = await session.exec(
        select(OpenNeedClaim.person_ref, OpenNeedClaim.need_code, OpenNeedClaim.referral_id).where(
            col(OpenNeedClaim.person_ref).in_(sorted(person_refs)), col(OpenNeedClaim.need_code).in_(sorted(need_codes))))
    return {(person_ref, need_code): referral_id for person_ref, need_code, referral_id in rows.all()}


async def open_referrals_of(
    session: AsyncSession, *, person_refs: Collection[str], need_codes: Collection[str]
) -> dict[str, dict[str, str]]:
    """person_ref -> need code -> that person's open referral for it (the oldest, if there were
    ever two), for a whole group of intakes in one query."""
    if not person_refs or not need_codes:
        return {}
    rows = await session.exec(
        select(ReferralStatusRecord.person_ref, ReferralStatusRecord.need_code, ReferralStatusRecord.referral_id)
        .where(
            col(ReferralStatusRecord.person_ref).in_(sorted(person_refs)),
            col(ReferralStatusRecord.need_code).in_(sorted(need_codes)),
            col(ReferralStatusRecord.status).in_(OPEN_STATUSES),
        )
        .order_by(col(ReferralStatusRecord.updated_at).desc())
    )
    found: dict[str, dict[str, str]] = {}
    for person_ref, need_code, referral_id in rows.all():
        found.setdefault(person_ref, {})[need_code] = referral_id  # newest first: the oldest is written last
    return found


async def get_idempotent(session: AsyncSession, *, key: str) -> IdempotencyRecord | None:
    return await session.get(IdempotencyRecord, key)


async def get_idempotent_many(session: AsyncSession, *, keys: Collection[str]) -> dict[str, IdempotencyRecord]:
    """The stored answers of those keys that have one, in one query."""
    if not keys:
        return {}
    rows = await session.exec(select(IdempotencyRecord).where(col(IdempotencyRecord.key).in_(sorted(keys))))
    return {record.key: record for record in rows.all()}
