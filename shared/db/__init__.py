"""Database helpers: async engines for SQLite and PostgreSQL, the consumer inbox, the outbox."""

from shared.db.engine import create_tables, make_engine, session_factory, stored_utc
from shared.db.inbox import InboxEntry, apply_batch_once, apply_once, claim_event, claim_events
from shared.db.locking import get_for_update
from shared.db.outbox import OutboxMessage, OutboxRelay, add_to_outbox

__all__ = [
    "InboxEntry",
    "OutboxMessage",
    "OutboxRelay",
    "add_to_outbox",
    "apply_batch_once",
    "apply_once",
    "claim_event",
    "claim_events",
    "create_tables",
    "get_for_update",
    "make_engine",
    "session_factory",
    "stored_utc",
]
