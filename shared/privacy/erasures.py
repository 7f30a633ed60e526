"""Erasure, on the side of a service that holds something of people (routing, the agency adapters,
reporting): it reads `person.erasures`, deletes what it holds of each person (its `erase`), and
confirms on `person.erasures.confirmed` in the same transaction. A service that is stopped when a
person is erased erases them when it comes back: the request waits in its consumer group.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import ids
from shared.contracts.person import PersonErasureConfirmedV1, PersonErasureRequestedV1
from shared.db.inbox import apply_batch_once
from shared.db.outbox import OutboxRelay, add_to_outbox
from shared.kafka.batches import batch_subscriber
from shared.settings import KafkaSettings

# (session, person_ref) -> what was deleted or redacted, by place: {"person_keys": 1, ...}
Erase = Callable[[AsyncSession, str], Awaitable[dict[str, int]]]


def confirmation(request: PersonErasureRequestedV1, *, service: str, removed: dict[str, int]) -> PersonErasureConfirmedV1:
    return PersonErasureConfirmedV1(
        event_id=ids.derived_event_id(source_id=str(request.event_id), purpose=f"erasure-confirmed/{service}"),
        occurred_at=datetime.now(UTC), correlation_id=request.correlation_id, producer=service,
        erasure_id=request.erasure_id, person_ref=request.person_ref, service=service, removed=removed,
    )


def subscribe_erasures(
    *, broker: KafkaBroker, kafka: KafkaSettings, sessions: async_sessionmaker[AsyncSession], relay: OutboxRelay,
    service: str, group: str, erase: Erase,
) -> None:
    """Erase each person asked for with `erase`, and confirm, in consumer group `group` (declared
    in shared/kafka/topology.py). Each request once (the inbox): a redelivered one is not confirmed
    twice."""
    topics = kafka.topics

    async def effect(session: AsyncSession, requests: list[PersonErasureRequestedV1]) -> None:
        for request in requests:
            removed = await erase(session, request.person_ref)
            add_to_outbox(session, topic=topics.person_erasures_confirmed, key=request.person_ref,
                          event=confirmation(request, service=service, removed=removed))

    async def on_person_erasures(requests: list[PersonErasureRequestedV1]) -> None:
        await apply_batch_once(sessions, consumer=group, events=requests, effect=effect)
        relay.wake()

    batch_subscriber(broker, topics.person_erasures, group_id=kafka.group(group), model=PersonErasureRequestedV1,
                     handle=on_person_erasures, name="on_person_erasure")
