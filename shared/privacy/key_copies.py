"""Keeping a copy of the person keys (agency adapters, reporting): a consumer of `person.keys`.

No inbox: storing a key is idempotent (the latest record of a person wins, and one person's
records come in order on one partition), so a redelivered batch changes nothing.

A tombstone (an erasure's) is passed over here: the copy is deleted by the service's erasure
handler (shared/privacy/erasures.py), which may need the key once more first (reporting redacts
the filed forms with it) and arrives on another topic, in no set order with this one. A rebuild,
which replays this topic alone, applies tombstones (`apply_key_records(tombstones=True)`).
"""

from dataclasses import dataclass

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.contracts.person import PersonKeyIssuedV1
from shared.db.engine import bound_engine, write_gate
from shared.kafka.batches import batch_subscriber
from shared.privacy.keyring import forget_keys, store_copies
from shared.settings import KafkaSettings


@dataclass(frozen=True, slots=True)
class KeyErased:
    """A tombstone on `person.keys`: this person's key is gone for good."""

    person_ref: str
    event_type: str = "person.key_erased"


def _tombstone(record: ConsumerRecord) -> KeyErased:
    return KeyErased(person_ref=(record.key or b"").decode())


async def apply_key_records(session: AsyncSession, *, records: list[PersonKeyIssuedV1 | KeyErased],
                            tombstones: bool = False) -> None:
    """Each person's latest record decides: a key is kept; a tombstone deletes it when `tombstones`."""
    latest: dict[str, PersonKeyIssuedV1 | KeyErased] = {}
    for record in records:
        latest.pop(record.person_ref, None)  # re-inserted last: keeps the batch's order per person
        latest[record.person_ref] = record
    if tombstones:
        await forget_keys(session, person_refs=[ref for ref, record in latest.items() if isinstance(record, KeyErased)])
    await store_copies(session, events=[record for record in latest.values() if isinstance(record, PersonKeyIssuedV1)])


def subscribe_key_copies(
    *, broker: KafkaBroker, kafka: KafkaSettings, sessions: async_sessionmaker[AsyncSession], group: str,
) -> None:
    """Keep this service's `person_keys` table in step with `person.keys`, in consumer group `group`
    (declared in shared/kafka/topology.py)."""

    async def on_person_keys(records: list[PersonKeyIssuedV1 | KeyErased]) -> None:
        async with write_gate(bound_engine(sessions)), sessions() as session:
            await apply_key_records(session, records=records)
            await session.commit()

    batch_subscriber(broker, kafka.topics.person_keys, group_id=kafka.group(group), model=PersonKeyIssuedV1,
                     handle=on_person_keys, name="on_person_keys", on_tombstone=_tombstone)
