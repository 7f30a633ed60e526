"""Row locks that work the same on PostgreSQL and SQLite.

Several consumers of one service update the same row from different topics at the same time
(an intake, its assignment and the agency's receipt arrive together). Read-modify-write
without a lock lets the slower writer put back a status the faster one had moved past, and two
first inserts of one row collide. Locking first makes each change see the one before it.
"""

from typing import Any, TypeVar

from sqlalchemy import update
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db.engine import insert_for

Row = TypeVar("Row", bound=SQLModel)


async def get_for_update(
    session: AsyncSession, model: type[Row], *, key: dict[str, Any], create: dict[str, Any] | None = None
) -> Row | None:
    """Load the row with primary key `key`, locked until the transaction ends.

    With `create`, a missing row is first inserted with those values (a concurrent insert of the
    same key is not an error: the row is then simply there). Without it, a missing row gives None.
    """
    connection = await session.connection()
    dialect = connection.dialect.name
    if create is not None:
        insert = insert_for(connection)
        await connection.execute(
            insert(model).values(**key, **create).on_conflict_do_nothing(index_elements=list(key))
        )
    elif dialect == "sqlite":
        # SQLite has no row locks, and a SELECT does not start a write transaction: a no-op
        # UPDATE takes the database's write lock now, so the read below cannot go stale.
        column, value = next(iter(key.items()))
        await connection.execute(
            update(model).where(*(getattr(model, k) == v for k, v in key.items())).values({column: value})
        )
    query = select(model).filter_by(**key).with_for_update().execution_options(populate_existing=True)
    return (await session.exec(query)).first()
