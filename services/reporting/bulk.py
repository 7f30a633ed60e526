"""Set-based statements the same way on SQLite and PostgreSQL: the dialect's INSERT (for its
ON CONFLICT clauses), and long IN lists cut to stay within the bound-parameter limits.

Rows are inserted by executemany (`connection.execute(insert(...), rows)`), which SQLAlchemy
sends as multi-row INSERTs of its own ("insertmanyvalues"), RETURNING included: one cached
statement whatever the batch's size. A VALUES list built per batch would be compiled and cached
once per size, and a cached statement of a few hundred rows holds thousands of bound parameters
(a service's memory grew by hundreds of MB that way under load)."""

from collections.abc import Iterator, Sequence
from typing import TypeVar

from shared.db.engine import insert_for  # noqa: F401 - reporting's statements import it from here

Item = TypeVar("Item")
# SQLite allows 32,766 bound parameters per statement, PostgreSQL 65,535; well under both, and a
# batch of 500 intakes (2,000 referrals) still fits its fact rows in one statement.
_PARAMETERS = 20_000


def chunks(items: Sequence[Item], *, width: int) -> Iterator[Sequence[Item]]:
    """`items` in order, as few statements' worth as the parameter limit allows when each item
    binds `width` parameters. Callers sort first: consecutive chunks keep the key order that
    makes row locks deadlock-free."""
    size = max(1, _PARAMETERS // max(1, width))
    for start in range(0, len(items), size):
        yield items[start:start + size]
