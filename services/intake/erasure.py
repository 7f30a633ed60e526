"""Erasing a person, where it starts: intake deletes what it holds of the person (their key, which
makes every sealed copy of them unreadable here and on the log; the lines of sheet error reports
that quote their ID; the queued records of their key), writes a tombstone of the key on
person.keys and the request on person.erasures, and confirms for itself, all in one transaction.
The other services erase and confirm on their own (shared/privacy/erasures.py); their
confirmations come back here, and GET /v1/erasures/{id} shows them.
"""

import json
import uuid
from dataclasses import dataclass
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from faststream.kafka import KafkaBroker
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from intake.bulk.models import BulkErrorRecord
from intake.models import ErasureConfirmation, ErasureRequest, IntakeRecord
from shared import ids
from shared.contracts.person import PersonErasureConfirmedV1, PersonErasureRequestedV1
from shared.db import OutboxMessage, add_to_outbox, add_tombstone, apply_batch_once, stage
from shared.db.outbox import TOMBSTONE
from shared.kafka.batches import batch_subscriber
from shared.privacy import KeyWrapper, PersonKey, PersonKeyRecord, forget_keys
from shared.privacy.keyring import key_event, key_record
from shared.privacy.sealing import new_person_key
from shared.settings import KafkaSettings
from shared.topics import Topics

SERVICES = ("intake", "routing", "agency-adapters", "reporting")
CONSUMER = "intake.erasures.confirmed"


@dataclass(frozen=True, slots=True)
class Erased:
    erasure_id: str
    provinces: list[str]


async def provinces_of(session: AsyncSession, *, person_ref: str) -> list[str]:
    rows = await session.exec(select(IntakeRecord.province_code).where(IntakeRecord.person_ref == person_ref).distinct())
    return sorted(rows.all())


async def erase(session: AsyncSession, *, person_ref: str, national_id: str, reason: str, actor: str,
                topics: Topics, provinces: list[str]) -> Erased:
    """Intake's share of an erasure, and the request to the others; the caller commits."""
    now, erasure_id = datetime.now(UTC), str(uuid.uuid4())
    removed = {"person_keys": await forget_keys(session, person_refs=[person_ref])}
    errors = await session.exec(delete(BulkErrorRecord).where(col(BulkErrorRecord.value).contains(national_id)))
    removed["intake_bulk_errors"] = errors.rowcount or 0
    # The key's records still in the outbox (pending or published): the wrapped key, once more.
    queued = await session.exec(delete(OutboxMessage).where(OutboxMessage.topic == topics.person_keys,
                                                            OutboxMessage.key == person_ref))
    removed["outbox_messages"] = queued.rowcount or 0
    add_tombstone(session, topic=topics.person_keys, key=person_ref,
                  event_id=str(ids.derived_event_id(source_id=erasure_id, purpose="key-tombstone")))
    request = PersonErasureRequestedV1(
        event_id=ids.derived_event_id(source_id=erasure_id, purpose="erasure-requested"), occurred_at=now,
        correlation_id=f"erasure:{erasure_id}", producer="intake", erasure_id=erasure_id, person_ref=person_ref,
        requested_at=now)
    add_to_outbox(session, topic=topics.person_erasures, key=person_ref, event=request)
    session.add(ErasureRequest(erasure_id=erasure_id, person_ref=person_ref, reason=reason, requested_by=actor,
                               requested_at=now, provinces_json=json.dumps(provinces)))
    stage(session, ErasureConfirmation, {"erasure_id": erasure_id, "service": "intake", "confirmed_at": now,
                                         "removed_json": json.dumps(removed)})
    return Erased(erasure_id=erasure_id, provinces=provinces)


async def nudge_compaction(session: AsyncSession, *, topics: Topics, person_ref: str, erasure_id: str,
                           after: timedelta) -> None:
    """A second tombstone of the key, sent once the topic's segment time has passed, in a
    transaction after the erasure's (so that it queues behind its first tombstone). Kafka rolls
    a partition's segment only when it is written to, and compacts only what lies behind the
    segment being written: on a quiet partition the first tombstone alone would leave the key on
    the log until the next person happens to land there. The outbox sends it no earlier than
    `after` (next_attempt_at); a person taken in again meanwhile has their new key sent after it."""
    session.add(OutboxMessage(
        event_id=str(ids.derived_event_id(source_id=erasure_id, purpose="key-tombstone-again")),
        topic=topics.person_keys, key=person_ref, payload=TOMBSTONE, next_attempt_at=datetime.now(UTC) + after))


async def held_tombstones(session: AsyncSession, *, topics: Topics, person_refs: Collection[str]) -> dict[str, OutboxMessage]:
    """The erasures' second tombstones (nudge_compaction) still held back, of these people."""
    if not person_refs:
        return {}
    rows = await session.exec(select(OutboxMessage).where(
        OutboxMessage.topic == topics.person_keys, col(OutboxMessage.key).in_(sorted(person_refs)),
        OutboxMessage.payload == TOMBSTONE, col(OutboxMessage.published_at).is_(None)))
    return {row.key: row for row in rows.all()}


def issue_key_behind_erasure(session: AsyncSession, *, held: OutboxMessage, wrapper: KeyWrapper) -> PersonKey:
    """A first key for a person taken in again while their erasure's second tombstone is held
    back. Rows of one key are sent in order, so that tombstone would hold the new key back (up to
    a day) while the intake it seals goes out at once, and the person would read as erased
    everywhere meanwhile. The held row becomes the new key's record, sent now; a copy of the record
    is held back in its place: the later write that still lets compaction drop the old key on a
    quiet partition (and, being the same key, never deletes the new one)."""
    key = new_person_key(held.key)
    record = key_record(key, wrapper=wrapper, at=datetime.now(UTC))
    stage(session, PersonKeyRecord, record)  # a plain INSERT, as issue_key: a race fails and retries
    event = key_event(record, producer="intake")
    session.add(OutboxMessage(
        event_id=str(ids.derived_event_id(source_id=str(event.event_id), purpose="compaction-nudge")),
        topic=held.topic, key=held.key, payload=event.model_dump_json(), next_attempt_at=held.next_attempt_at))
    held.event_id, held.payload, held.next_attempt_at = str(event.event_id), event.model_dump_json(), None
    session.add(held)
    return key


async def status_of(session: AsyncSession, *, erasure_id: str) -> tuple[ErasureRequest, dict] | None:
    request = await session.get(ErasureRequest, erasure_id)
    if request is None:
        return None
    confirmations = (await session.exec(
        select(ErasureConfirmation).where(ErasureConfirmation.erasure_id == erasure_id))).all()
    by_service: dict = dict.fromkeys(SERVICES)
    for confirmation in confirmations:
        by_service[confirmation.service] = {"confirmed_at": confirmation.confirmed_at.isoformat(),
                                            "removed": json.loads(confirmation.removed_json)}
    return request, by_service


def register_erasure_confirmations(*, broker: KafkaBroker, kafka: KafkaSettings,
                                   sessions: async_sessionmaker[AsyncSession]) -> None:
    async def effect(session: AsyncSession, events: list[PersonErasureConfirmedV1]) -> None:
        for event in events:
            if await session.get(ErasureConfirmation, (event.erasure_id, event.service)) is None:
                session.add(ErasureConfirmation(erasure_id=event.erasure_id, service=event.service,
                                                confirmed_at=event.occurred_at, removed_json=json.dumps(event.removed)))

    async def on_erasures_confirmed(events: list[PersonErasureConfirmedV1]) -> None:
        await apply_batch_once(sessions, consumer=CONSUMER, events=events, effect=effect)

    batch_subscriber(broker, kafka.topics.person_erasures_confirmed, group_id=kafka.group(CONSUMER),
                     model=PersonErasureConfirmedV1, handle=on_erasures_confirmed, name="on_person_erasure_confirmed")
