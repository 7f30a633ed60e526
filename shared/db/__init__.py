"""Database helpers: async engines for SQLite and PostgreSQL, the consumer inbox, the outbox,
and rows staged to be written at commit."""

from shared.db.engine import (
    bound_engine,
    create_tables,
    insert_for,
    make_engine,
    session_factory,
    session_for_large_values,
    stored_utc,
    write_gate,
)
from shared.db.inbox import InboxEntry, apply_batch_once, apply_once, claim_event, claim_events
from shared.db.locking import get_for_update
from shared.db.outbox import OutboxMessage, OutboxRelay, add_to_outbox, add_tombstone
from shared.db.staged import stage

__all__ = [
    "InboxEntry",
    "OutboxMessage",
    "OutboxRelay",
    "add_tombstone",
    "add_to_outbox",
    "apply_batch_once",
    "apply_once",
    "bound_engine",
    "claim_event",
    "claim_events",
    "create_tables",
    "get_for_update",
    "insert_for",
    "make_engine",
    "session_factory",
    "session_for_large_values",
    "stage",
    "stored_utc",
    "write_gate",
]
