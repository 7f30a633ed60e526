"""Retry timing and the circuit breaker of HTTPS deliveries (agency webhooks, the national feed).
Pure: the clock and the random source are passed in, so tests drive them."""

import random
from dataclasses import dataclass
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


def backoff_delay(*, attempt: int, base_seconds: float, cap_seconds: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: a random wait in [0, min(cap, base * 2^(attempt-1))].
    Full jitter spreads the retries of many referrals that failed together, so a recovering
    receiving system is not hit by all of them in the same second."""
    ceiling = min(cap_seconds, base_seconds * 2 ** max(attempt - 1, 0))
    return rng.uniform(0, ceiling)


# 408 (timeout), 425 (too early), 429 (slow down) and any 5xx say "try again later"; the other
# 4xx say the receiving system refuses this delivery as it is, and retrying the same bytes cannot help.
RETRYABLE_4XX = frozenset({408, 425, 429})

DeliveryVerdict = Literal["delivered", "retry", "refused"]


def verdict_for_status(status_code: int) -> DeliveryVerdict:
    if 200 <= status_code < 300:
        return "delivered"
    if status_code in RETRYABLE_4XX or status_code >= 500:
        return "retry"
    return "refused"


@dataclass
class CircuitBreaker:
    """Per receiving system: after `failure_threshold` failures in a row, stop calling it for
    `cooldown_seconds`, then let one trial through; its result closes or re-opens the circuit.
    While open, deliveries wait without spending their attempts."""

    failure_threshold: int
    cooldown_seconds: float
    state: BreakerState = "closed"
    consecutive_failures: int = 0
    opened_at: float | None = None
    trial_in_flight: bool = False

    def allow(self, *, now: float) -> bool:
        if self.state == "closed":
            return True
        if self.state == "open" and self.opened_at is not None and now - self.opened_at >= self.cooldown_seconds:
            self.state = "half_open"
        if self.state == "half_open" and not self.trial_in_flight:
            self.trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self.state, self.consecutive_failures, self.opened_at, self.trial_in_flight = "closed", 0, None, False

    def record_failure(self, *, now: float) -> None:
        self.consecutive_failures += 1
        if self.state == "half_open" or self.consecutive_failures >= self.failure_threshold:
            self.state, self.opened_at = "open", now
        self.trial_in_flight = False

    def seconds_until_trial(self, *, now: float) -> float:
        if self.state != "open" or self.opened_at is None:
            return 0.0
        return max(0.0, self.cooldown_seconds - (now - self.opened_at))
