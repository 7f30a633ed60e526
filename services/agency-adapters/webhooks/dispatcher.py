"""Pushes referrals to the agencies' own systems: one loop per agency, so a slow or broken
system delays only its own deliveries. Delivery is at least once: the receiver deduplicates on
the X-Songtor-Delivery header (the referral id)."""

import asyncio
import json
import logging
import random
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agency_adapters.models import AgencyReferral
from agency_adapters.views import agency_view
from agency_adapters.webhooks import store
from agency_adapters.webhooks.config import WebhookTarget
from agency_adapters.webhooks.models import WebhookDelivery
from shared.db import stored_utc
from shared.delivery import store as deliveries
from shared.delivery.resilience import CircuitBreaker, backoff_delay, verdict_for_status
from shared.delivery.signing import NONCE_HEADER, SIGNATURE_HEADER, new_nonce, signature
from shared.privacy import Identities, KeyWrapper, identities_of

logger = logging.getLogger("songtor.agency.webhooks")
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


class WebhookDispatcher:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        targets: dict[str, WebhookTarget],
        public_url: str,
        master_keys: KeyWrapper,
        registry: CollectorRegistry,
        interval_seconds: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self._sessions, self._targets, self._public_url = sessions, targets, public_url
        self._master_keys = master_keys
        self._interval, self._rng = interval_seconds, rng or random.Random()
        self.breakers = {
            agency: CircuitBreaker(failure_threshold=t.breaker_failures, cooldown_seconds=t.breaker_cooldown_seconds)
            for agency, t in targets.items()
        }
        self._attempts = Counter("songtor_webhook_attempts", "Webhook delivery attempts by result",
                                 ["agency", "result"], registry=registry)
        self._deliveries = Gauge("songtor_webhook_deliveries", "Webhook deliveries by state",
                                 ["agency", "state"], registry=registry)
        self._circuit_open = Gauge("songtor_webhook_circuit_open", "1 while the agency system's circuit is open",
                                   ["agency"], registry=registry)

    async def run(self) -> None:
        await asyncio.gather(*(self._run_agency(agency) for agency in self._targets))

    async def _run_agency(self, agency: str) -> None:
        target = self._targets[agency]
        async with httpx.AsyncClient(timeout=target.timeout_seconds) as client:
            while True:
                sent = 0
                try:
                    sent = await self.dispatch_once(agency=agency, client=client)
                    if not sent:
                        await self._refresh_gauges(agency)
                except Exception:  # noqa: BLE001 - a database outage must not end the loop
                    logger.warning("webhook dispatch for %s failed; will retry", agency, exc_info=True)
                if not sent:
                    await asyncio.sleep(self._interval)

    async def dispatch_once(self, *, agency: str, client: httpx.AsyncClient) -> int:
        """Send what is due for one agency, as far as its circuit allows; returns how many were sent."""
        target, breaker = self._targets[agency], self.breakers[agency]
        if not breaker.allow(now=time.monotonic()):
            return 0
        trial = breaker.state == "half_open"
        now = datetime.now(UTC)
        async with self._sessions() as session:
            claimed = await store.claim_due(
                session, agency=agency, now=now, limit=1 if trial else target.concurrency,
                lease=timedelta(seconds=target.timeout_seconds + 30),
            )
            # The agency's system gets the person in clear (over TLS, signed): opened for the body only.
            identities = await identities_of(session, wrapper=self._master_keys,
                                             person_refs={referral.person_ref for _, referral in claimed})
            claimed = await self._without_keys_yet(session, claimed, identities=identities, now=now)
        if not claimed:
            if trial:
                breaker.trial_in_flight = False  # nothing to try with; keep the trial for later
            return 0
        await asyncio.gather(*(self._send(target=target, client=client, delivery=d, referral=r, identities=identities)
                               for d, r in claimed))
        self._circuit_open.labels(agency).set(1 if breaker.state == "open" else 0)
        return len(claimed)

    async def _without_keys_yet(self, session: AsyncSession, claimed: list[tuple[WebhookDelivery, AgencyReferral]], *,
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

    async def _send(self, *, target: WebhookTarget, client: httpx.AsyncClient,
                    delivery: WebhookDelivery, referral: AgencyReferral, identities: Identities) -> None:
        agency, attempt = referral.agency, delivery.attempts + 1
        sent_at = datetime.now(UTC)
        body = delivery_body(referral=referral, identities=identities, attempt=attempt, sent_at=sent_at,
                             public_url=self._public_url)
        nonce, url = new_nonce(), urlsplit(str(target.url))
        # Signed over the path (and query) the agency's server sees in its request line.
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: signature(secret=target.secret.get_secret_value(), timestamp=int(time.time()),
                                        nonce=nonce, method="POST", path=path, body=body),
            NONCE_HEADER: nonce,
            "X-Songtor-Delivery": referral.referral_id,
            "X-Songtor-Attempt": str(attempt),
            "X-Songtor-Event": EVENT_TYPE,
        }
        status_code: int | None = None
        try:
            response = await client.post(str(target.url), content=body, headers=headers)
            status_code = response.status_code
            verdict, error = verdict_for_status(status_code), None
            if verdict != "delivered":
                error = f"the agency system answered HTTP {status_code}"
        except httpx.TimeoutException:
            verdict, error = "retry", f"no answer within {target.timeout_seconds:g} s"
        except httpx.TransportError as exc:
            verdict, error = "retry", f"could not reach the agency system ({type(exc).__name__})"
        await self._record(target=target, delivery=delivery, referral_id=referral.referral_id, agency=agency,
                           attempt=attempt, verdict=verdict, status_code=status_code, error=error)

    async def _record(self, *, target: WebhookTarget, delivery: WebhookDelivery, referral_id: str, agency: str,
                      attempt: int, verdict: str, status_code: int | None, error: str | None) -> None:
        breaker, now = self.breakers[agency], datetime.now(UTC)
        self._attempts.labels(agency, verdict).inc()
        next_at, state = None, "pending"
        if verdict == "delivered":
            state = "delivered"
            breaker.record_success()
        elif verdict == "refused":
            # The system is up and said no to this referral: retrying the same bytes cannot help.
            state, error = "parked", f"{error}; refused, not retried: fix the cause, then re-drive"
            breaker.record_success()
        else:
            breaker.record_failure(now=time.monotonic())
            if attempt >= target.max_attempts:
                state, error = "parked", f"{error}; parked after {attempt} attempts"
            else:
                delay = backoff_delay(attempt=attempt, base_seconds=target.backoff_base_seconds,
                                      cap_seconds=target.backoff_cap_seconds, rng=self._rng)
                next_at = now + timedelta(seconds=delay)
        async with self._sessions() as session:
            await deliveries.record_attempt(session, table=WebhookDelivery, key=referral_id, attempts=attempt, state=state, at=now,
                                       next_attempt_at=next_at, status_code=status_code, error=error)
        log = logger.warning if state == "parked" else logger.info
        outcome = {"pending": "failed, will be retried", "delivered": "delivered", "parked": "parked"}[state]
        log("webhook to %s %s at attempt %d: %s", agency, outcome, attempt, error or "ok",
            extra={"referral_id": referral_id})

    async def _refresh_gauges(self, agency: str) -> None:
        async with self._sessions() as session:
            counts = await store.counts_by_state(session, agency=agency)
        for state, count in counts.items():
            self._deliveries.labels(agency, state).set(count)
        self._circuit_open.labels(agency).set(1 if self.breakers[agency].state == "open" else 0)
