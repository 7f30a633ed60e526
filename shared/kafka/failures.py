"""What a consumer does with a message its handler failed on: the one classification, and the
retry policy, shared by the per-message middleware (dead_letter.py) and the batches (batches.py).

Three kinds of failure:

- **permanent**: the message can never succeed. It does not decode or validate (pydantic's
  `ValidationError`, which is also what a retired or unknown `schema_version` gives, since each
  contract pins its version; JSON and UTF-8 decode errors), or the handler says so by raising
  `InvalidMessage` (a referral for one agency on another agency's topic). Dead-lettered on the
  first failure, with `dlq.attempts` 1.
- **unavailable**: a dependency did not answer: no connection to the database could be made, the
  connection dropped, no pooled connection came free in time, the broker did not answer. Retried
  **without a bound**, with backoff, and never dead-lettered.
- **retried**: everything else: the database answered with an error (a missing table or column
  after a deploy, a refused privilege, a constraint, a deadlock), a broker error that is not a
  timeout, any unexpected exception (a bug). Retried with backoff up to
  `KAFKA_CONSUMER_RETRY_ATTEMPTS` failed attempts of the message, then dead-lettered with
  `dlq.attempts` and the reason, and the consumer moves on.

Why an outage has no bound: it says nothing about the message, and every message behind it
fails alike. A bound would turn a database restart longer than the bound into a dead-letter
topic holding the whole backlog, each letter to be re-driven by hand, out of order with what
came after it. Waiting loses nothing (no offset is committed past the message), the consumer
picks up where it stopped the moment the dependency answers, and `SongtorConsumerRetrying`
says it is stuck meanwhile. A dependency that answers with an error is different: the error may
be the message's (a value the schema refuses), so it gets a bound; the default gives a deploy
whose migration runs a little late, or a revoked grant, a few minutes to be fixed first.

The backoff doubles from `KAFKA_CONSUMER_RETRY_FIRST_BACKOFF_SECONDS` (0.5) up to
`KAFKA_CONSUMER_RETRY_MAX_BACKOFF_SECONDS` (60), with equal jitter (half the delay fixed, half
random): a retry never comes at once, and consumers that failed together do not all come back
together to a database that is starting up. With the default 12 attempts a message the
database keeps refusing is dead-lettered after 11 waits, 2.5 to 5 minutes. Each wait is spent
before the failure is re-raised, and the retry comes through a fresh poll (NACK seeks back), so
a consumer never sleeps long enough to be thrown out of its group (`max.poll.interval.ms`, 5 min).

Attempts are counted in the consumer's process: after a restart or a rebalance a message starts
its count again, so it is tried at least the bound, never fewer.
"""

import random
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import StrEnum
from json import JSONDecodeError
from typing import TYPE_CHECKING

from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

if TYPE_CHECKING:
    from shared.settings import KafkaSettings


class InvalidMessage(ValueError):
    """Raised by a handler for a message that decodes but can never be applied, whatever is
    retried: it is dead-lettered at once. The text says why, without the message's personal data."""


class FailureKind(StrEnum):
    PERMANENT = "permanent"
    UNAVAILABLE = "unavailable"
    RETRIED = "retried"


PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    ValidationError, JSONDecodeError, UnicodeDecodeError, InvalidMessage,
)
# Nothing answered: the network, a name lookup, a timeout waiting for an answer.
_NO_ANSWER: tuple[type[BaseException], ...] = (
    ConnectionError, TimeoutError, PoolTimeoutError, KafkaConnectionError, KafkaTimeoutError,
)


def classify(exc: BaseException) -> FailureKind:
    if isinstance(exc, PERMANENT_ERRORS):
        return FailureKind.PERMANENT
    if any(_no_answer(link) for link in _causes(exc)):
        return FailureKind.UNAVAILABLE
    return FailureKind.RETRIED


def _no_answer(exc: BaseException) -> bool:
    if isinstance(exc, _NO_ANSWER):
        return True
    if isinstance(exc, KafkaError):
        return bool(exc.retriable)  # aiokafka marks the errors a broker gives while it is unavailable
    if isinstance(exc, DBAPIError):
        # A dropped connection is flagged by SQLAlchemy; a failed connect (refused, unknown host,
        # the server starting up) is an OperationalError raised outside any statement, where the
        # database had nothing to refuse. One raised by a statement is the database's answer.
        return exc.connection_invalidated or (isinstance(exc, (OperationalError, InterfaceError))
                                              and exc.statement is None)
    return False


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it was raised from (SQLAlchemy's wrapped driver error is both its
    `orig` and its cause); `__context__` is left out: it may be an unrelated error being handled."""
    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and len(chain) < 8 and link not in chain:
        chain.append(link)
        link = link.__cause__ or (link.orig if isinstance(link, DBAPIError) and isinstance(link.orig, BaseException)
                                  else None)
    return chain


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`attempts`: failed attempts of a message (not of a dependency outage) before it is dead-lettered."""

    attempts: int = 12
    first_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 60.0

    @classmethod
    def from_kafka(cls, kafka: "KafkaSettings") -> "RetryPolicy":
        return cls(attempts=kafka.consumer_retry_attempts,
                   first_backoff_seconds=kafka.consumer_retry_first_backoff_seconds,
                   max_backoff_seconds=kafka.consumer_retry_max_backoff_seconds)

    def exhausted(self, *, kind: FailureKind, attempts: int) -> bool:
        """Whether a message that has failed `attempts` times now goes to the dead-letter topic."""
        if kind is FailureKind.UNAVAILABLE:
            return False
        return kind is FailureKind.PERMANENT or attempts >= self.attempts

    def delay(self, attempt: int, *, draw: Callable[[], float] = random.random) -> float:
        """Seconds to wait after the `attempt`-th consecutive failure: doubling, capped, equal jitter."""
        ceiling = min(self.max_backoff_seconds, self.first_backoff_seconds * 2 ** min(attempt - 1, 30))
        return ceiling / 2 + draw() * ceiling / 2


class FailureCounts:
    """Consecutive failed attempts per record position (topic, partition, offset), bounded so a
    process that sees many failing messages does not grow: only the latest can come back."""

    def __init__(self, *, limit: int = 10_000) -> None:
        self._counts: OrderedDict[Hashable, int] = OrderedDict()
        self._limit = limit

    def add(self, position: Hashable) -> int:
        count = self._counts.pop(position, 0) + 1
        self._counts[position] = count
        while len(self._counts) > self._limit:
            self._counts.popitem(last=False)
        return count

    def forget(self, position: Hashable) -> None:
        self._counts.pop(position, None)
