"""Rebuild the reporting database from the Kafka log.

    python -m reporting.rebuild --database-url NEW_URL [--from-database-url LIVE_URL]

Creates the reporting tables in NEW_URL, which must be a new, empty database, and replays every
topic the facts are made from (intake.submitted, referral.assigned.<agency> for the four
agencies, referral.updated, referral.unroutable) from its beginning up to the end offsets
captured when the command starts; later events are left to the service. Each event goes through
the very effects the live consumers apply (reporting.effects), recorded in the same inbox under
the same consumer names, in batches as the live consumers read them. Topics are read one after
another, partitions interleaved: neither the order across topics and partitions nor how the
events fall into batches matters, because every effect merges whatever it finds
(see reporting.effects). Kafka, catalog, outcomes and time zone come from the same environment
as the service (KAFKA_*, SONGTOR_*, REPORTING_*). It prints the events per topic and the time
taken. Exit status 0 when done, 1 when it refused or an event could not be applied.

What the log does not hold is not rebuilt from it: registry imports (registry_imports,
registry_members), the versions of the forms already filed (published_reports, with their
files) and the national feed's records with what was sent of them (national_feed_*). Without them SNB-2 could not tick the registry, and the month close would file every
past month again as a late version 1 and announce it on report.published. With
--from-database-url they are copied from the live reporting database, ids and times kept; give
it unless the live database is lost, in which case import the registry files again and expect
the re-filed versions. Names and IDs for the forms (report_people) come from the intake events.
Not copied: the outbox (stop the service once its outbox is empty) and the ops view's tables
(the service creates them; a new KAFKA_GROUP_PREFIX refills them from referral.overdue). Nor the
month close's counts of changes and marks (closing/scope_changes.py): the replay makes new counts,
which the live marks do not speak for, so the close compares each filed version with the rebuilt
facts once (amending only what differs) and marks it.

Switching: stop the reporting service, rebuild, point REPORTING_DATABASE_URL at the new
database, start it. Or keep it running and start the new one with a new KAFKA_GROUP_PREFIX:
its groups read from the beginning and the inbox skips every event the rebuild applied.
"""

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TextIO
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting import effects, rollups
from reporting.migrations import SCHEMA
from reporting.log_replay import partitions_of, replay_topic
from reporting.rebuild_copy import COPIED_TABLES, copy_tables
from reporting.settings import ReportingSettings
from shared.catalog import load_catalog
from shared.db import apply_batch_once, make_engine, session_factory
from shared.db.migrations import upgrade_database
from shared.contracts import PersonKeyIssuedV1
from shared.kafka.connection import client_options
from shared.privacy.key_copies import KeyErased, apply_key_records

EXIT_DONE, EXIT_FAILED = 0, 1


class RebuildError(RuntimeError):
    pass


@dataclass
class TopicCount:
    applied: int = 0
    duplicates: int = 0  # an event id already applied: a re-published or re-driven copy
    unreadable: int = 0  # not a valid event: the live consumer dead-lettered it, no effect


@dataclass
class Replay:
    counts: dict[str, TopicCount] = field(default_factory=dict)
    copied: Counter = field(default_factory=Counter)
    seconds: float = 0.0


async def rebuild(*, settings: ReportingSettings, target_url: str, source_url: str | None) -> Replay:
    started = time.monotonic()
    if source_url and make_url(source_url) == make_url(target_url):
        raise RebuildError("--from-database-url is the database to rebuild; give a new, empty one")
    target = make_engine(target_url)
    try:
        await _require_empty(target)
        await upgrade_database(engine=target, schema=SCHEMA)  # the live service's schema, at its revision
        # Marked filled while empty: the replay keeps the rollups as the live consumers do.
        await rollups.backfill(session_factory(target))
        replay = Replay()
        if source_url:
            source = make_engine(source_url)
            try:
                replay.copied = await copy_tables(source=source, target=target)
            finally:
                await source.dispose()
        families = effects.families(catalog=load_catalog(settings.catalog.catalog_path), zone=ZoneInfo(settings.timezone))
        topics = effects.fact_topics(settings.kafka.topics)
        # The person keys too, so the rebuilt forms can name the people: each person's latest key,
        # none for an erased person (their tombstone), so a rebuild brings no erased name back.
        topics[settings.kafka.topics.person_keys] = effects.KEYS
        replay.counts = await _replay(login=client_options(settings.kafka), topics=topics, families=families,
                                      sessions=session_factory(target))
    finally:
        await target.dispose()
    replay.seconds = time.monotonic() - started
    return replay


async def _require_empty(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        present = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    if clash := sorted(present & {table.name for table in SCHEMA.tables}):
        raise RebuildError(f"the database already has reporting tables ({', '.join(clash)}); give a new, empty one")


async def _replay(*, login: dict, topics: dict[str, str], families: dict[str, effects.Family],
                  sessions: async_sessionmaker[AsyncSession]) -> dict[str, TopicCount]:
    """`login`: reporting's own (client_options): a rebuild reads what the live service reads."""
    partitions = await partitions_of(login=login, topics=topics)
    # No group: nothing is committed, and the live service's groups are not disturbed.
    consumer = AIOKafkaConsumer(**login, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions) if partitions else {}
        counts = {topic: TopicCount() for topic in topics}
        for topic in topics:
            mine = [tp for tp in partitions if tp.topic == topic]
            if not mine:
                continue
            if topics[topic] == effects.KEYS:
                apply = partial(_apply_key_batch, sessions=sessions, count=counts[topic])
            else:
                apply = partial(_apply_batch, family=families[topics[topic]], sessions=sessions, count=counts[topic])
            await replay_topic(consumer, partitions=mine, ends=ends, apply=apply)
        return counts
    finally:
        await consumer.stop()


async def _apply_batch(records: list, *, family: effects.Family, sessions: async_sessionmaker[AsyncSession],
                       count: TopicCount) -> None:
    """The batch as the live consumer applies one (`apply_batch_once` with the family's batch
    effect): one transaction, the events claimed in the inbox under the same consumer name."""
    events = []
    for record in records:
        try:
            events.append(family.model.model_validate_json(record.value or b""))
        except ValidationError:
            count.unreadable += 1
    try:
        applied = await apply_batch_once(sessions, consumer=family.consumer, events=events, effect=family.apply_batch)
    except Exception as error:
        raise RebuildError(f"{_culprit(records)}: {type(error).__name__}: {error}") from error
    count.applied += len(applied)
    count.duplicates += len(events) - len(applied)


async def _apply_key_batch(records: list, *, sessions: async_sessionmaker[AsyncSession], count: TopicCount) -> None:
    """Person keys as the live service keeps them (key_copies.py): the latest record of each
    person wins, a tombstone deletes."""
    keys: list[PersonKeyIssuedV1 | KeyErased] = []
    for record in records:
        if record.value is None:
            keys.append(KeyErased(person_ref=(record.key or b"").decode()))
            continue
        try:
            keys.append(PersonKeyIssuedV1.model_validate_json(record.value))
        except ValidationError:
            count.unreadable += 1
    async with sessions() as session:
        await apply_key_records(session, records=keys, tombstones=True)
        await session.commit()
    count.applied += len(keys)


def _culprit(records: list) -> str:
    """Where the failed batch was read: its first and last offset in each partition."""
    spans: dict[tuple[str, int], list[int]] = {}
    for record in records:
        spans.setdefault((record.topic, record.partition), []).append(record.offset)
    return "; ".join(f"{topic} partition {partition} offsets {min(offsets)}-{max(offsets)}"
                     for (topic, partition), offsets in sorted(spans.items()))


def report(replay: Replay, *, out: TextIO) -> None:
    width = max((len(topic) for topic in replay.counts), default=10)
    print(f"{'topic':<{width}}  {'applied':>9}  {'duplicates':>10}  {'unreadable':>10}", file=out)
    for topic, c in replay.counts.items():
        print(f"{topic:<{width}}  {c.applied:>9,}  {c.duplicates:>10,}  {c.unreadable:>10,}", file=out)
    applied = sum(c.applied for c in replay.counts.values())
    if replay.copied:
        print("copied: " + ", ".join(f"{name} {rows:,}" for name, rows in replay.copied.items()), file=out)
    else:
        print(f"not copied (no --from-database-url): {', '.join(COPIED_TABLES)}", file=out)
    print(f"{applied:,} events applied in {replay.seconds:.1f} s", file=out)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reporting.rebuild", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a new, empty database to rebuild into")
    parser.add_argument("--from-database-url", help="the live reporting database: registries and filed versions are copied from it")
    return parser


def main(argv: list[str] | None = None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = _parser().parse_args(argv)
    settings = ReportingSettings(database_url=args.database_url)
    shown = make_url(args.database_url).render_as_string(hide_password=True)
    print(f"rebuilding {shown} from {settings.kafka.bootstrap_servers}", file=out)
    try:
        replay = asyncio.run(rebuild(settings=settings, target_url=args.database_url, source_url=args.from_database_url))
    except RebuildError as error:
        print(f"error: {error}", file=err)
        return EXIT_FAILED
    report(replay, out=out)
    return EXIT_DONE


if __name__ == "__main__":
    sys.exit(main())
