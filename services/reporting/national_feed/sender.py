"""Sends the records to the national system over HTTPS, on the shared delivery loop
(shared/delivery: signed requests or mutual TLS, backoff, circuit breaker, parking, re-drive).

At least once: a record sent again (a retry, a restart after kill -9 between the send and its
recording) carries the same delivery id and number, and the receiver keeps it once. The person's
identity goes only on their person record, opened from reporting's sealed copy with their key
just before it is sent; a record whose person cannot be opened yet (reporting's copy of the
intake, or the key, has not arrived: they are read by other consumers) waits a little, untried.
"""

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.models import ReportPerson
from reporting.national_feed import queue
from reporting.national_feed.contract import SCHEMA_V1
from reporting.national_feed.models import FeedRecord
from reporting.national_feed.records import record_to_send
from shared.contracts import Sealed
from shared.db import stored_utc
from shared.delivery import store as deliveries
from shared.delivery.loop import DeliveryChannel, DeliveryLoop
from shared.delivery.queue import Outgoing, TableQueue
from shared.delivery.target import HttpTarget
from shared.privacy import KeyWrapper, identities_of

LINK = "national_system"  # the one receiver: the metrics' `receiver` label
CHANNEL = DeliveryChannel(name="national feed", receiver="the national system", metric_prefix="songtor_national_feed",
                          link_label="receiver", logger_name="songtor.reporting.national_feed", log_key="delivery_id")
logger = logging.getLogger(CHANNEL.logger_name)
# How long a person record waits for the person to be openable here, and how often it looks.
IDENTITY_WAIT, IDENTITY_RETRY = timedelta(minutes=10), timedelta(seconds=2)
NOT_OPENABLE = "the person's identity cannot be opened here (no key, or reporting has not read the intake)"


@dataclass(frozen=True)
class ClaimedRecord:
    record: FeedRecord
    identity: dict | None

    @property
    def key(self) -> str:
        return self.record.delivery_id

    @property
    def attempts(self) -> int:
        return self.record.attempts


class FeedQueue(TableQueue):
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], master_keys: KeyWrapper) -> None:
        super().__init__(sessions=sessions, table=FeedRecord)
        self._master_keys = master_keys

    async def claim_due(self, *, link: str, now: datetime, limit: int, lease: timedelta) -> list[ClaimedRecord]:
        async with self.sessions() as session:
            claimed = await queue.claim_due(session, now=now, limit=limit, lease=lease)
            people = [r.person_ref for r in claimed if r.kind == "person"]
            found = await _identities(session, person_refs=people, master_keys=self._master_keys)
            unopened = [r for r in claimed if r.kind == "person" and r.person_ref not in found]
            waiting = [r for r in unopened if now - stored_utc(r.created_at) < IDENTITY_WAIT]
            if waiting:
                await deliveries.postpone(session, table=FeedRecord, keys=[r.delivery_id for r in waiting],
                                          until=now + IDENTITY_RETRY)
            for record in unopened:
                if record not in waiting:
                    # Sent without the person it would be a record of nobody: parked in plain sight,
                    # with the reason (an erasure closes it instead; a re-drive tries again).
                    await deliveries.record_attempt(session, table=FeedRecord, key=record.delivery_id,
                                                    attempts=record.attempts, state="parked", at=now,
                                                    error=NOT_OPENABLE, only_from=("pending",))
        return [ClaimedRecord(record=r, identity=found.get(r.person_ref) if r.kind == "person" else None)
                for r in claimed if r not in unopened]


async def _identities(session: AsyncSession, *, person_refs: list[str], master_keys: KeyWrapper) -> dict[str, dict]:
    if not person_refs:
        return {}
    opener = await identities_of(session, wrapper=master_keys, person_refs=person_refs)
    rows = (await session.exec(select(ReportPerson).where(col(ReportPerson.person_ref).in_(person_refs)))).all()
    found = {}
    for row in rows:
        identity = opener.identity(Sealed.model_validate_json(row.identity_json), person_ref=row.person_ref)
        if identity is not None:
            found[row.person_ref] = {"national_id": identity.national_id, "full_name": identity.full_name}
    return found


def compose(item: ClaimedRecord, *, attempt: int, sent_at: datetime) -> Outgoing:  # noqa: ARG001 - the loop's signature
    body = record_to_send(body_json=item.record.body_json, sequence=item.record.sequence or 0, identity=item.identity)
    return Outgoing(body=body, headers={"X-Songtor-Schema": SCHEMA_V1})


class FeedSender(DeliveryLoop[ClaimedRecord]):
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], target: HttpTarget, master_keys: KeyWrapper,
                 registry: CollectorRegistry, interval_seconds: float = 1.0, rng: random.Random | None = None) -> None:
        super().__init__(channel=CHANNEL, targets={LINK: target}, queue=FeedQueue(sessions=sessions, master_keys=master_keys),
                         compose=compose, registry=registry, interval_seconds=interval_seconds, rng=rng)
