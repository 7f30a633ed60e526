"""The referral facts one batch of events touches: created when missing, loaded and locked
together as plain rows, changed in memory by the pure projections, written back together.

Several events of one batch can be about the same referral (two updates of it, its assignment
and the assignment of the transfer that continues it), and each must see what the one before it
did. So a batch keeps one dict referral_id -> row for all its events, and a row is read from the
database once per batch (`_asked`): a second read would lose the batch's changes to it.
"""

from collections.abc import Iterable

from sqlmodel.ext.asyncio.session import AsyncSession

from reporting import projection, repository
from reporting.models import FactRow
from shared import ids
from shared.agencies import AGENCIES

TRANSFERRED = "transferred"


def continuations(referral_id: str) -> list[str]:
    """The ids a transfer of `referral_id` would give its continuation, one per agency."""
    return [ids.transferred_referral_id(referral_id=referral_id, to_agency=agency) for agency in AGENCIES]


class FactBatch:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._facts: dict[str, FactRow] = {}
        self._asked: set[str] = set()  # ids looked up, found or not: a missing row is not asked twice
        self._changed: dict[str, FactRow] = {}

    @classmethod
    async def load(cls, session: AsyncSession, *, create: dict[str, str], origins: Iterable[str] = ()) -> "FactBatch":
        """`create`: referral_id -> intake_id of the facts the events are about, made when
        missing. `origins`: facts a continuation inherits from, loaded if they exist. One
        statement, sorted by key (see repository on locks)."""
        batch = cls(session)
        await repository.insert_missing_facts(session, create=create)
        await batch._lock({*create, *origins})
        return batch

    async def _lock(self, referral_ids: Iterable[str]) -> None:
        fresh = set(referral_ids) - self._asked
        self._asked |= fresh
        for fact in await repository.lock_facts(self._session, referral_ids=fresh):
            self._facts[fact.referral_id] = fact

    def fact(self, referral_id: str) -> FactRow:
        """A fact named in `create`: it exists, made by `load` if it had to be."""
        return self._facts[referral_id]

    def find(self, referral_id: str) -> FactRow | None:
        return self._facts.get(referral_id)

    def changed(self, fact: FactRow) -> None:
        self._changed[fact.referral_id] = fact

    async def finish(self) -> None:
        """Carry intakes to continuations, then write every changed fact once and note its rollup move."""
        await self._carry_intake_to_transfers(list(self._changed.values()))
        await repository.write_facts(self._session, facts=list(self._changed.values()))
        self._changed.clear()

    async def _carry_intake_to_transfers(self, origins: list[FactRow]) -> None:
        """A continuation whose assignment was applied before its origin knew its intake
        inherited nothing; it gets the intake now. Continuation ids derive from the origin and
        the agency, so only a transferred fact costs a look-up, and a chain of transfers is
        followed, one statement per link for the whole batch.

        After the events, not after each: inheriting only fills a continuation that has no
        intake, from an origin whose intake no event changes, and no projection reads the
        intake, so when it happens does not change the result. And in a statement of its own,
        after the batch's own rows are locked: had we waited there for another consumer's lock,
        a continuation it made meanwhile is visible to this newer statement (PostgreSQL's READ
        COMMITTED takes each statement's snapshot when it starts)."""
        while origins := [o for o in origins if o.has_intake and o.status == TRANSFERRED]:
            children = {origin.referral_id: continuations(origin.referral_id) for origin in origins}
            await self._lock(child for ids_ in children.values() for child in ids_)
            inherited = []
            for origin in origins:
                for child_id in children[origin.referral_id]:
                    child = self._facts.get(child_id)
                    if child is not None and not child.has_intake:
                        projection.inherit_intake(child, origin=origin)
                        self.changed(child)
                        inherited.append(child)
            origins = inherited
