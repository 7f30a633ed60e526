"""Pushes referrals to the agencies' own systems, on the shared delivery loop (shared/delivery/):
one loop per agency, so a slow or broken system delays only its own deliveries. Delivery is at
least once: the receiver deduplicates on the X-Songtor-Delivery header (the referral id). What is
the agency's is here: the body, and a delivery's wait for its person's key."""

import json
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agency_adapters.models import AgencyReferral
from agency_adapters.views import agency_view
from agency_adapters.webhooks import store
from agency_adapters.webhooks.config import WebhookTarget
from agency_adapters.webhooks.models import WebhookDelivery
from shared.db import stored_utc
from shared.delivery import store as deliveries
from shared.delivery.loop import DeliveryChannel, DeliveryLoop
from shared.delivery.queue import Outgoing, TableQueue
from shared.privacy import Identities, KeyWrapper, identities_of

CHANNEL = DeliveryChannel(name="webhook", receiver="the agency system", metric_prefix="songtor_webhook",
                          link_label="agency", logger_name="songtor.agency.webhooks", log_key="referral_id")
logger = logging.getLogger(CHANNEL.logger_name)
EVENT_TYPE = "referral.assigned"
# How long a delivery waits for its person's key to arrive on person.keys, and how often it looks.
KEY_WAIT, KEY_RETRY = timedelta(minutes=10), timedelta(seconds=2)


def callback_url(*, public_url: str, agency: str, referral_id: str) -> str:
    return f"{public_url.rstrip('/')}/v1/agency-systems/{agency}/referrals/{referral_id}/status"


def delivery_body(*, referral: AgencyReferral, identities: Identities, attempt: int, sent_at: datetime,
                  public_url: str) -> bytes:
    payload = {
        "type": EVENT_TYPE,
        "delivery_id": referral.referral_id,
        "attempt": attempt,
        "sent_at": sent_at.isoformat(),
        "referral": agency_view(referral, identities=identities),
        "callback_url": callback_url(public_url=public_url, agency=referral.agency, referral_id=referral.referral_id),
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class ClaimedReferral:
    """A delivery claimed to be sent now, with its referral and the keys to open its person."""

    delivery: WebhookDelivery
    referral: AgencyReferral
    identities: Identities

    @property
    def key(self) -> str:
        return self.referral.referral_id

    @property
    def attempts(self) -> int:
        return self.delivery.attempts


class WebhookQueue(TableQueue):
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], master_keys: KeyWrapper) -> None:
        super().__init__(sessions=sessions, table=WebhookDelivery, link_column=WebhookDelivery.agency)
        self._master_keys = master_keys

    async def claim_due(self, *, link: str, now: datetime, limit: int, lease: timedelta) -> list[ClaimedReferral]:
        async with self.sessions() as session:
            claimed = await store.claim_due(session, agency=link, now=now, limit=limit, lease=lease)
            # The agency's system gets the person in clear (over TLS, signed): opened for the body only.
            identities = await identities_of(session, wrapper=self._master_keys,
                                             person_refs={referral.person_ref for _, referral in claimed})
            ready = await self._without_keys_yet(session, claimed, identities=identities, now=now)
        return [ClaimedReferral(delivery=d, referral=r, identities=identities) for d, r in ready]

    @staticmethod
    async def _without_keys_yet(session: AsyncSession, claimed: list[tuple[WebhookDelivery, AgencyReferral]], *,
                                identities: Identities, now: datetime) -> list[tuple[WebhookDelivery, AgencyReferral]]:
        """The claimed deliveries that can go now. One whose person's key has not reached this
        service yet (person.keys is read by its own consumer, at its own pace) waits a little,
        untried, rather than tell the agency the person is erased; after KEY_WAIT it goes as it is
        (the person was erased before it could be sent)."""
        ready, waiting = [], []
        for delivery, referral in claimed:
            young = now - stored_utc(delivery.created_at) < KEY_WAIT
            (waiting if young and not identities.has_key(referral.person_ref) else ready).append((delivery, referral))
        if waiting:
            logger.info("%d deliveries wait for their person's key", len(waiting))
            await deliveries.postpone(session, table=WebhookDelivery, keys=[r.referral_id for _, r in waiting],
                                      until=now + KEY_RETRY)
        return ready


class WebhookDispatcher(DeliveryLoop[ClaimedReferral]):
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        targets: Mapping[str, WebhookTarget],
        public_url: str,
        master_keys: KeyWrapper,
        registry: CollectorRegistry,
        interval_seconds: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        def compose(item: ClaimedReferral, *, attempt: int, sent_at: datetime) -> Outgoing:
            body = delivery_body(referral=item.referral, identities=item.identities, attempt=attempt,
                                 sent_at=sent_at, public_url=public_url)
            return Outgoing(body=body, headers={"X-Songtor-Event": EVENT_TYPE})

        super().__init__(channel=CHANNEL, targets=targets,
                         queue=WebhookQueue(sessions=sessions, master_keys=master_keys), compose=compose,
                         registry=registry, interval_seconds=interval_seconds, rng=rng)
