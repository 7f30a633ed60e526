"""One attempt at a delivery: the POST (signed when the target signs), what its answer means, and
what the delivery becomes after it. `decide` is pure but for the breaker it tells; the clocks and
the random source are passed in, so tests drive them."""

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx

from shared.delivery.models import DeliveryState
from shared.delivery.resilience import CircuitBreaker, DeliveryVerdict, backoff_delay, verdict_for_status
from shared.delivery.signing import NONCE_HEADER, SIGNATURE_HEADER, new_nonce, signature
from shared.delivery.target import HttpTarget

JSON = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Answer:
    """What one POST came to."""

    status_code: int | None  # None: no HTTP answer at all (timeout, connection refused, TLS refused)
    verdict: DeliveryVerdict
    error: str | None  # None when delivered


@dataclass(frozen=True)
class Outcome:
    """What the delivery becomes after an attempt."""

    state: DeliveryState
    next_attempt_at: datetime | None  # when it is tried again; None: it is not (or stays as it was)
    error: str | None


def request_path(url: str) -> str:
    """The path (and query) the receiver's server sees in its request line: what is signed."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def request_headers(*, target: HttpTarget, body: bytes, headers: Mapping[str, str], now: float,
                    content_type: str = JSON) -> dict[str, str]:
    """The content type, the signature when the target signs (shared/delivery/signing.py), then
    the channel's own headers."""
    signed: dict[str, str] = {}
    if target.signing and target.secret is not None:
        nonce = new_nonce()
        signed = {
            SIGNATURE_HEADER: signature(secret=target.secret.get_secret_value(), timestamp=int(now), nonce=nonce,
                                        method="POST", path=request_path(str(target.url)), body=body),
            NONCE_HEADER: nonce,
        }
    return {"Content-Type": content_type, **signed, **headers}


async def post(*, client: httpx.AsyncClient, target: HttpTarget, body: bytes, headers: Mapping[str, str],
               receiver: str, content_type: str = JSON) -> Answer:
    """POST one delivery to the target. The receiver's failures are answers, never exceptions;
    `receiver` names it in them ("the agency system")."""
    sent = request_headers(target=target, body=body, headers=headers, now=time.time(), content_type=content_type)
    try:
        response = await client.post(str(target.url), content=body, headers=sent)
    except httpx.TimeoutException:
        return Answer(status_code=None, verdict="retry", error=f"no answer within {target.timeout_seconds:g} s")
    except httpx.TransportError as exc:
        return Answer(status_code=None, verdict="retry", error=f"could not reach {receiver} ({type(exc).__name__})")
    verdict = verdict_for_status(response.status_code)
    error = None if verdict == "delivered" else f"{receiver} answered HTTP {response.status_code}"
    return Answer(status_code=response.status_code, verdict=verdict, error=error)


def decide(*, answer: Answer, attempt: int, target: HttpTarget, breaker: CircuitBreaker, rng: random.Random,
           now: datetime, monotonic: float) -> Outcome:
    """The delivery's state after its `attempt`-th attempt, told to the receiver's breaker too.
    `now` dates the next attempt; `monotonic` is the breaker's clock."""
    if answer.verdict == "delivered":
        breaker.record_success()
        return Outcome(state="delivered", next_attempt_at=None, error=None)
    if answer.verdict == "refused":
        # The system is up and said no to this record: retrying the same bytes cannot help.
        breaker.record_success()
        return Outcome(state="parked", next_attempt_at=None,
                       error=f"{answer.error}; refused, not retried: fix the cause, then re-drive")
    breaker.record_failure(now=monotonic)
    if attempt >= target.max_attempts:
        return Outcome(state="parked", next_attempt_at=None, error=f"{answer.error}; parked after {attempt} attempts")
    delay = backoff_delay(attempt=attempt, base_seconds=target.backoff_base_seconds,
                          cap_seconds=target.backoff_cap_seconds, rng=rng)
    return Outcome(state="pending", next_attempt_at=now + timedelta(seconds=delay), error=answer.error)
