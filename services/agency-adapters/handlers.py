"""One consumer per agency, each in its own consumer group, so every agency reads at its own
pace and one agency's backlog never holds up another's."""

import logging
from datetime import UTC, datetime

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agency_adapters import lifecycle, repository
from agency_adapters.webhooks import store as webhook_store
from shared.agencies import AGENCIES, Agency
from shared.contracts import ReferralAssignedV2
from shared.db import OutboxRelay, add_to_outbox, apply_batch_once
from shared.kafka.batches import batch_subscriber
from shared.kafka.failures import InvalidMessage
from shared.privacy import forget_keys
from shared.privacy.erasures import subscribe_erasures
from shared.privacy.key_copies import subscribe_key_copies
from shared.settings import KafkaSettings

logger = logging.getLogger("songtor.agency")
KEYS_CONSUMER = "agency.keys"


async def erase_person(session: AsyncSession, person_ref: str) -> dict[str, int]:
    """The agency adapters hold a person sealed (the referrals' person, the needs' notes): deleting
    the key copy makes all of it unreadable here. What staff typed about them is in clear, and goes.
    The referrals and their moves stay."""
    removed = await repository.erase_free_text(session, person_ref=person_ref)
    return {"person_keys": await forget_keys(session, person_refs=[person_ref]), **removed}


def register_agency_consumers(
    *,
    broker: KafkaBroker,
    kafka: KafkaSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    agencies: tuple[Agency, ...] = AGENCIES,
    webhook_agencies: frozenset[str] = frozenset(),
) -> None:
    for agency in agencies:
        _register_one(broker=broker, kafka=kafka, sessions=sessions, relay=relay, agency=agency,
                      by_webhook=agency in webhook_agencies)
    # The person keys open the people of the referrals (kept sealed). Every adapter process on one
    # database shares this group: together they keep its copies, whichever agencies each runs.
    subscribe_key_copies(broker=broker, kafka=kafka, sessions=sessions, group=KEYS_CONSUMER)
    # An erased person: the key copy goes, and with it every sealed copy here (the referrals stay).
    subscribe_erasures(broker=broker, kafka=kafka, sessions=sessions, relay=relay, service="agency-adapters",
                       group="agency.erasures", erase=erase_person)


def _register_one(
    *,
    broker: KafkaBroker,
    kafka: KafkaSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
    agency: Agency,
    by_webhook: bool,
) -> None:
    topic = kafka.topics.referral_assigned(agency)
    consumer = f"agency.{agency}"

    async def effect(session: AsyncSession, events: list[ReferralAssignedV2]) -> None:
        now = datetime.now(UTC)
        for event in events:
            if event.agency != agency:  # never right here: dead-lettered at once, the batch split around it
                raise InvalidMessage(f"referral for agency '{event.agency}' arrived on {topic}")
            repository.add_received(session, event=event, received_at=now)
            receipt = lifecycle.updated_event(
                referral_id=event.referral_id,
                intake_id=event.intake_id,
                person_ref=event.person_ref,
                agency=agency,
                status="received",
                previous_status="assigned",
                version=repository.RECEIVED_VERSION,
                actor="system",
                occurred_at=now,
            )
            add_to_outbox(session, topic=kafka.topics.referral_updated, key=event.referral_id, event=receipt)
            if by_webhook:  # stored with the referral, so a crash can never lose the push
                webhook_store.add_pending(session, referral_id=event.referral_id, agency=agency, at=now)

    async def on_referrals_assigned(events: list[ReferralAssignedV2]) -> None:
        applied = await apply_batch_once(sessions, consumer=consumer, events=events, effect=effect)
        # Also after a redelivery: a crash may have come between the commit and the publish.
        relay.wake()
        logger.info("%d referrals received (%d new)", len(events), len(applied), extra={"agency": agency})

    # FastStream names handlers after the function: one name per agency keeps metrics apart.
    batch_subscriber(broker, topic, group_id=kafka.group(consumer), model=ReferralAssignedV2,
                     handle=on_referrals_assigned, name=f"on_referral_assigned_{agency}")
