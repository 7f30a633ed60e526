"""Per-referral visibility for the latency figure: when did reporting count each referral?

The report (`GET /v1/reports/monthly`) gives counts, not which referrals, and matching the k-th 202
to the moment the count reached k would hide reordering (it pairs sorted times with sorted times,
which shrinks the tail). So the bench reads reporting's own database, read-only, the way an analyst
with a read replica would: a referral is counted once its fact row is committed with its intake and
status `received` (the agency's receipt, the pipeline's last hop); the rollups the report reads are
moved in that same transaction. Each poll asks only for the intakes still waiting (referral_facts is
indexed by intake_id), so its cost stays a few milliseconds whatever the table's size. Resolution:
the poll interval (a referral is stamped with the start of the first poll that returns it).
"""

import asyncio
import sqlite3
import time
from pathlib import Path

from pipeline_load import Posted

_QUERY = ("SELECT referral_id, intake_id FROM referral_facts WHERE status = 'received' AND has_intake "
          "AND intake_id IN ({})")
_CHUNK = 500


class ReportingDatabase:
    """A read-only connection to reporting's database (SQLite file or PostgreSQL)."""

    def __init__(self, *, url: str) -> None:
        if url.startswith("sqlite"):
            path = Path(url.split("///", 1)[1])
            # WAL (shared/db/engine.py): this reader never blocks the service's writer.
            self._connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            self._mark = "?"
        else:
            import psycopg

            self._connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
            self._mark = "%s"

    def received(self, intake_ids: list[str]) -> list[tuple[str, str]]:
        found = []
        for start in range(0, len(intake_ids), _CHUNK):
            chunk = intake_ids[start:start + _CHUNK]
            cursor = self._connection.execute(_QUERY.format(", ".join([self._mark] * len(chunk))), chunk)
            found += cursor.fetchall()
        return found

    def close(self) -> None:
        self._connection.close()


async def watch_counted(*, url: str, posted: Posted, per_intake: int, sending: asyncio.Task, interval: float,
                        grace: float) -> dict[str, tuple[str, float]]:
    """Until every accepted intake's referrals are seen (or `grace` seconds after the sending ended):
    referral_id -> (intake_id, monotonic time it was first seen counted)."""
    database = ReportingDatabase(url=url)
    seen: dict[str, tuple[str, float]] = {}
    per: dict[str, int] = {}
    deadline = None
    try:
        while True:
            if sending.done() and deadline is None:
                deadline = time.monotonic() + grace
            pending = [i for i in list(posted.accepted) if per.get(i, 0) < per_intake]
            if sending.done() and (not pending or time.monotonic() > deadline):
                return seen
            started = time.monotonic()
            if pending:
                for referral_id, intake_id in await asyncio.to_thread(database.received, pending):
                    if referral_id not in seen:
                        seen[referral_id] = (intake_id, started)
                        per[intake_id] = per.get(intake_id, 0) + 1
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
    finally:
        database.close()
