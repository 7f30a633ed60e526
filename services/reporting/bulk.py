"""Multi-row statements the same way on SQLite and PostgreSQL: the dialect's INSERT (for its
ON CONFLICT clauses) and rows cut into statements that stay within the bound-parameter limits."""

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

Item = TypeVar("Item")
# SQLite allows 32,766 bound parameters per statement, PostgreSQL 65,535; well under both, and a
# batch of 500 intakes (2,000 referrals) still fits its fact rows in one statement.
_PARAMETERS = 20_000


def insert_for(connection: AsyncConnection) -> Any:
    """`insert` of the connection's dialect: both have on_conflict_do_nothing/do_update."""
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def chunks(items: Sequence[Item], *, width: int) -> Iterator[Sequence[Item]]:
    """`items` in order, as few statements' worth as the parameter limit allows when each item
    binds `width` parameters. Callers sort first: consecutive chunks keep the key order that
    makes row locks deadlock-free."""
    size = max(1, _PARAMETERS // max(1, width))
    for start in range(0, len(items), size):
        yield items[start:start + size]
