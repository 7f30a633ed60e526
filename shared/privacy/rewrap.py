"""Master-key rotation, without downtime: re-wrap every person key under the current master key.

    1. Add the new master key to SONGTOR_MASTER_KEYS of intake, agency-adapters and reporting and
       name it in SONGTOR_MASTER_KEY_ID; restart them one by one. New keys are wrapped by it at
       once; old ones still unwrap under the old master key, which stays listed.
    2. python -m shared.privacy.rewrap --database-url <intake's> --publish
       re-wraps intake's keys and queues each re-wrapped key on person.keys (its running relay
       sends them within a second): the adapters' and reporting's copies, and the log that
       rebuilds read, follow. Run it without --publish on their databases to re-wrap at once.
    3. When `--check` finds no key under the old master key in any of the three databases, and
       person.keys has been compacted (KAFKA_PERSON_KEYS_COMPACTION_SECONDS), remove the old one.

Rows go in chunks, each in a short transaction of its own, so the services keep writing meanwhile.
"""

import argparse
import asyncio
import base64
import sys
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db.engine import bound_engine, make_engine, session_factory, write_gate
from shared.db.outbox import add_to_outbox
from shared.privacy.keyring import PersonKeyRecord, key_event, key_record
from shared.privacy.master_keys import KeyWrapper, SealingSettings, WrappedKey, master_keys_from
from shared.privacy.sealing import PersonKey, wrap_context
from shared.settings import KafkaSettings

CHUNK = 500


async def rewrap(
    sessions: async_sessionmaker[AsyncSession], *, wrapper: KeyWrapper, topic: str | None = None,
    producer: str = "intake", chunk: int = CHUNK,
) -> Counter:
    """Re-wrap every key not under the current master key; with `topic`, queue each re-wrapped
    key there (intake's outbox). Returns how many were re-wrapped, by the master key they left."""
    moved: Counter = Counter()
    while True:
        async with write_gate(bound_engine(sessions)), sessions() as session:
            rows = (await session.exec(
                select(PersonKeyRecord).where(PersonKeyRecord.kek_id != wrapper.current_id)
                .order_by(col(PersonKeyRecord.person_ref)).limit(chunk))).all()
            if not rows:
                return moved
            now = datetime.now(UTC)
            for row in rows:
                moved[row.kek_id] += 1  # before the update below refreshes the row
                secret = wrapper.unwrap(WrappedKey(kek_id=row.kek_id, blob=base64.b64decode(row.wrapped_key)),
                                        context=wrap_context(person_ref=row.person_ref, key_id=row.key_id))
                record = key_record(PersonKey(person_ref=row.person_ref, key_id=row.key_id, secret=secret),
                                    wrapper=wrapper, at=now)
                await session.exec(update(PersonKeyRecord).where(  # type: ignore[call-overload]
                    col(PersonKeyRecord.person_ref) == row.person_ref, col(PersonKeyRecord.key_id) == row.key_id)
                    .values(kek_id=record["kek_id"], wrapped_key=record["wrapped_key"]))
                if topic is not None:
                    add_to_outbox(session, topic=topic, key=row.person_ref,
                                  event=key_event(record, producer=producer, purpose=f"key-rewrapped/{record['kek_id']}"))
            await session.commit()


async def keys_by_master(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.exec(select(PersonKeyRecord.kek_id, func.count()).group_by(PersonKeyRecord.kek_id))
        return dict(rows.all())


async def _main(args: argparse.Namespace) -> int:
    engine = make_engine(args.database_url)
    try:
        sessions = session_factory(engine)
        if not args.check:
            topic = KafkaSettings().topics.person_keys if args.publish else None
            moved = await rewrap(sessions, wrapper=master_keys_from(SealingSettings()), topic=topic)
            print(f"re-wrapped {sum(moved.values())} person keys" + "".join(f"; {n} from {k}" for k, n in moved.items()))
        print("person keys by master key: " + (", ".join(f"{k} {n}" for k, n in sorted((await keys_by_master(sessions)).items()))
                                              or "none"))
    finally:
        await engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Re-wrap person keys under the current master key.")
    parser.add_argument("--database-url", required=True, help="intake's, agency-adapters' or reporting's database")
    parser.add_argument("--publish", action="store_true", help="queue the re-wrapped keys on person.keys (intake's)")
    parser.add_argument("--check", action="store_true", help="only count the keys under each master key")
    return asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
