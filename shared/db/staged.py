"""Rows written at commit, each table's in one statement: the write path of the batched consumers.

An ORM object per new row (`session.add`) costs its instrumentation, its identity-map entry and
the unit of work's bookkeeping at flush: most of what the consumers spent in SQLAlchemy under
load (bench/README.md, the CPU budget). Rows that are only written, never read back or changed in
the same transaction (outbox rows, a referral received, its first moves, a routing decision), are
staged here as plain dicts instead and inserted when the transaction commits: one executemany
per table, in the order they were staged, after the session's own pending objects are flushed.

Staged rows are invisible to queries of the same transaction until its commit: stage only rows
the transaction does not read again. A rollback (or a session closed without commit) drops them.
Column defaults of the models (SQLModel turns a Field's default into the column's) fill what a
row leaves out; every row staged for one table in a transaction must name the same columns, so
that they can go in one statement.
"""

from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel import SQLModel

_STAGED = "songtor.staged_rows"


def stage(session: Any, model: type[SQLModel], row: dict[str, Any]) -> None:
    """Insert `row` into `model`'s table when `session`'s transaction commits (sync or async session)."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    sync: Session = getattr(session, "sync_session", session)
    if not sync.in_transaction():
        # Rows staged belong to a transaction: begun now (no connection is taken yet), so that a
        # rollback before any statement still ends it and drops them.
        sync.begin()
    rows = session.info.setdefault(_STAGED, {}).setdefault(table, [])
    if rows and rows[0].keys() != row.keys():
        raise ValueError(f"rows staged for {table.name} must name the same columns: "
                         f"{sorted(rows[0])} and {sorted(row)}")
    rows.append(row)


@event.listens_for(Session, "before_commit")
def _write_staged(session: Session) -> None:
    staged: dict[Table, list[dict]] | None = session.info.pop(_STAGED, None)
    if not staged:
        return
    # The session's own objects first: a staged row may name one of them.
    session.flush()
    connection = session.connection()
    for table, rows in staged.items():
        connection.execute(table.insert(), rows)


@event.listens_for(Session, "after_transaction_end")
def _forget_staged(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended without commit (rollback, close): its staged rows go with it.
    if transaction.parent is None:
        session.info.pop(_STAGED, None)
