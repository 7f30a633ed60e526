"""What the delivery loop (loop.py) needs of a channel's deliveries: a queue to claim them from and
to record each attempt in, and a way to turn one into a request. TableQueue is the part of a queue
that is the same for every table with the delivery columns; a channel's queue adds `claim_due`,
which knows what else a delivery needs to be sent (its record, the keys to open it)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.delivery import store
from shared.delivery.attempts import Outcome
from shared.delivery.models import DeliveryColumns


class Claimed(Protocol):
    """A delivery claimed to be sent now, with whatever its channel needs to compose it."""

    @property
    def key(self) -> str:
        """The delivery's id, sent as X-Songtor-Delivery: the receiver deduplicates on it."""
        ...

    @property
    def attempts(self) -> int:
        """Attempts made before this one."""
        ...


Item = TypeVar("Item", bound=Claimed)
Item_contra = TypeVar("Item_contra", bound=Claimed, contravariant=True)


class DeliveryQueue(Protocol[Item]):
    async def claim_due(self, *, link: str, now: datetime, limit: int, lease: timedelta) -> Sequence[Item]:
        """Up to `limit` deliveries of the link due by `now`, each held by this sender until
        `now + lease` (so no other process sends it meanwhile)."""
        ...

    async def record_attempt(self, *, key: str, attempts: int, outcome: Outcome, status_code: int | None,
                             at: datetime) -> None:
        ...

    async def counts_by_state(self, *, link: str) -> dict[str, int]:
        ...


@dataclass(frozen=True)
class Outgoing:
    """The request of one attempt: its body, and the channel's own headers (after the content
    type, the signature, X-Songtor-Delivery and X-Songtor-Attempt)."""

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class Compose(Protocol[Item_contra]):
    def __call__(self, item: Item_contra, *, attempt: int, sent_at: datetime) -> Outgoing:
        ...


class TableQueue:
    """Attempts and counts of the deliveries in `table`. `link_column` names the link a row is
    for (an agency); None: the table serves one link."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], table: type[DeliveryColumns],
                 link_column: Any | None = None) -> None:
        self.sessions, self.table, self._link_column = sessions, table, link_column

    def of_link(self, link: str) -> store.Narrow:
        column = self._link_column
        return (lambda query: query) if column is None else (lambda query: query.where(column == link))

    async def record_attempt(self, *, key: str, attempts: int, outcome: Outcome, status_code: int | None,
                             at: datetime) -> None:
        # A delivery a channel closed while it was in flight (the national feed's withdrawn or
        # erased records) stays closed, unless it did arrive.
        only_from = None if outcome.state == "delivered" else ("pending",)
        async with self.sessions() as session:
            await store.record_attempt(session, table=self.table, key=key, attempts=attempts, state=outcome.state,
                                       at=at, next_attempt_at=outcome.next_attempt_at, status_code=status_code,
                                       error=outcome.error, only_from=only_from)

    async def counts_by_state(self, *, link: str) -> dict[str, int]:
        async with self.sessions() as session:
            return await store.counts_by_state(session, table=self.table, narrow=self.of_link(link))
