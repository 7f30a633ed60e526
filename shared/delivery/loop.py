"""The loop that pushes a channel's deliveries to their receivers: one loop per link (an agency's
system, the national system), so a slow or broken receiver delays only its own deliveries, each
link with its own circuit breaker. Delivery is at least once: the receiver deduplicates on the
X-Songtor-Delivery header. The channel supplies its queue and how a delivery becomes a request
(queue.py), and the names it goes by in logs, errors and metrics (DeliveryChannel)."""

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge

from shared.delivery.attempts import decide, post
from shared.delivery.queue import Compose, DeliveryQueue, Item
from shared.delivery.resilience import CircuitBreaker
from shared.delivery.target import HttpTarget, http_client

DELIVERY_HEADER, ATTEMPT_HEADER = "X-Songtor-Delivery", "X-Songtor-Attempt"
# A claim outlives the request's timeout, so a delivery is never sent twice at once; a sender that
# dies holding it frees it when the lease runs out.
LEASE_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True)
class DeliveryChannel:
    """What a kind of delivery is called, e.g. the agency webhooks': name "webhook", receiver "the
    agency system", metric prefix "songtor_webhook", link label "agency"."""

    name: str  # in log lines ("webhook to skills delivered at attempt 1: ok") and metric help
    receiver: str  # in the errors kept on a delivery ("the agency system answered HTTP 503")
    metric_prefix: str  # <prefix>_attempts{<link_label>,result}, _deliveries{<link_label>,state}, _circuit_open
    link_label: str  # the metrics' label naming the link
    logger_name: str
    log_key: str  # the log record's field that carries the delivery's key (shared/logs.py prints a few)


class DeliveryMetrics:
    def __init__(self, *, channel: DeliveryChannel, registry: CollectorRegistry) -> None:
        prefix, link, name = channel.metric_prefix, channel.link_label, channel.name.capitalize()
        self.attempts = Counter(f"{prefix}_attempts", f"{name} delivery attempts by result", [link, "result"],
                                registry=registry)
        self.deliveries = Gauge(f"{prefix}_deliveries", f"{name} deliveries by state", [link, "state"],
                                registry=registry)
        self.circuit_open = Gauge(f"{prefix}_circuit_open", f"1 while {channel.receiver}'s circuit is open", [link],
                                  registry=registry)


class DeliveryLoop(Generic[Item]):
    def __init__(
        self,
        *,
        channel: DeliveryChannel,
        targets: Mapping[str, HttpTarget],
        queue: DeliveryQueue[Item],
        compose: Compose[Item],
        registry: CollectorRegistry,
        interval_seconds: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        nowhere = sorted(link for link, target in targets.items() if target.url is None)
        if nowhere:
            raise ValueError(f"links without a url cannot be delivered to: {', '.join(nowhere)}")
        self.channel, self.targets, self._queue, self._compose = channel, dict(targets), queue, compose
        self._interval, self._rng = interval_seconds, rng or random.Random()
        self._logger = logging.getLogger(channel.logger_name)
        self.breakers = {
            link: CircuitBreaker(failure_threshold=t.breaker_failures, cooldown_seconds=t.breaker_cooldown_seconds)
            for link, t in self.targets.items()
        }
        self.metrics = DeliveryMetrics(channel=channel, registry=registry)

    async def run(self) -> None:
        await asyncio.gather(*(self._run_link(link) for link in self.targets))

    async def _run_link(self, link: str) -> None:
        async with http_client(self.targets[link]) as client:
            while True:
                sent = 0
                try:
                    sent = await self.dispatch_once(link=link, client=client)
                    if not sent:
                        await self.refresh_gauges(link=link)
                except Exception:  # noqa: BLE001 - a database outage must not end the loop
                    self._logger.warning("%s dispatch for %s failed; will retry", self.channel.name, link,
                                         exc_info=True)
                if not sent:
                    await asyncio.sleep(self._interval)

    async def dispatch_once(self, *, link: str, client: httpx.AsyncClient) -> int:
        """Send what is due for one link, as far as its circuit allows; returns how many were sent."""
        target, breaker = self.targets[link], self.breakers[link]
        if not breaker.allow(now=time.monotonic()):
            return 0
        trial = breaker.state == "half_open"
        claimed = await self._queue.claim_due(
            link=link, now=datetime.now(UTC), limit=1 if trial else target.concurrency,
            lease=timedelta(seconds=target.timeout_seconds) + LEASE_MARGIN)
        if not claimed:
            if trial:
                breaker.trial_in_flight = False  # nothing to try with; keep the trial for later
            return 0
        await asyncio.gather(*(self._attempt(link=link, client=client, item=item) for item in claimed))
        self.metrics.circuit_open.labels(link).set(1 if breaker.state == "open" else 0)
        return len(claimed)

    async def _attempt(self, *, link: str, client: httpx.AsyncClient, item: Item) -> None:
        target, attempt = self.targets[link], item.attempts + 1
        outgoing = self._compose(item, attempt=attempt, sent_at=datetime.now(UTC))
        answer = await post(client=client, target=target, body=outgoing.body, receiver=self.channel.receiver,
                            headers={DELIVERY_HEADER: item.key, ATTEMPT_HEADER: str(attempt), **outgoing.headers})
        now = datetime.now(UTC)
        self.metrics.attempts.labels(link, answer.verdict).inc()
        outcome = decide(answer=answer, attempt=attempt, target=target, breaker=self.breakers[link], rng=self._rng,
                         now=now, monotonic=time.monotonic())
        await self._queue.record_attempt(key=item.key, attempts=attempt, outcome=outcome,
                                         status_code=answer.status_code, at=now)
        level = logging.WARNING if outcome.state == "parked" else logging.INFO
        said = {"pending": "failed, will be retried", "delivered": "delivered", "parked": "parked"}[outcome.state]
        self._logger.log(level, "%s to %s %s at attempt %d: %s", self.channel.name, link, said, attempt,
                         outcome.error or "ok", extra={self.channel.log_key: item.key})

    async def refresh_gauges(self, *, link: str) -> None:
        counts = await self._queue.counts_by_state(link=link)
        for state, count in counts.items():
            self.metrics.deliveries.labels(link, state).set(count)
        self.metrics.circuit_open.labels(link).set(1 if self.breakers[link].state == "open" else 0)
