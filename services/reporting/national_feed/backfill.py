"""Send a past period of the centres that join the national feed later.

    python -m reporting.national_feed.backfill --org-unit 6406 --from 2026-10-01 --to 2026-12-01

Replays the log (intake.submitted, referral.assigned.<agency>, referral.updated, person.consents)
from its beginning up to where it ends now, through the same rules as the live feed, for intakes
of these org units received in [from, to) (Asia/Bangkok days). Records get the delivery ids the
live feed gives them, so what the live feed recorded already is not recorded again, and running
the same backfill twice records nothing the second time. The service's sender sends what it
records, in each person's order. Prints how many records it added.

Not through the live consumers' inbox: their groups are left as they are, and a backfill of
another centre or period later replays the same events again.
"""

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import TextIO
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select

from reporting.log_replay import partitions_of, replay_topic
from reporting.national_feed.handlers import ASSIGNED, CONSENTS, INTAKES, UPDATED, feed_effects
from reporting.national_feed.ledger import FeedRules
from reporting.national_feed.mapping import load_assistance_map
from reporting.national_feed.models import FeedRecord
from reporting.settings import ReportingSettings
from shared.catalog.outcomes import load_outcomes
from shared.db import make_engine, session_factory
from shared.kafka.connection import client_options

EXIT_DONE, EXIT_FAILED = 0, 1
RETRIES = 5  # a batch that met the live feed recording the same record at the same moment


async def backfill(*, settings: ReportingSettings, org_units: Sequence[str], start: datetime, end: datetime) -> int:
    """Records added."""
    units = frozenset(org_units)
    outcomes = load_outcomes(settings.outcomes_path)
    rules = FeedRules(mapping=load_assistance_map(settings.national_feed.map_path, outcomes=outcomes), outcomes=outcomes,
                      joins=lambda org_unit, received_at: org_unit in units and start <= received_at < end)
    effects, topics = feed_effects(rules), settings.kafka.topics
    plan = [(topics.intake_submitted, INTAKES), *((t, ASSIGNED) for t in topics.all_assigned()),
            (topics.referral_updated, UPDATED), (topics.person_consents, CONSENTS)]
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    login = client_options(settings.kafka)
    consumer = AIOKafkaConsumer(**login, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        before = await _records(sessions)
        partitions = await partitions_of(login=login, topics=[topic for topic, _ in plan])
        await consumer.start()
        ends = await consumer.end_offsets(partitions) if partitions else {}
        for topic, name in plan:
            model, effect = effects[name]

            async def apply(records: list, model=model, effect=effect) -> None:  # noqa: ANN001 - bound per topic
                events = []
                for record in records:
                    try:
                        events.append(model.model_validate_json(record.value or b""))
                    except ValidationError:
                        continue  # dead-lettered by the live consumer: nothing to send
                await _apply(sessions, effect=effect, events=events)

            mine = [tp for tp in partitions if tp.topic == topic]
            if mine:
                await replay_topic(consumer, partitions=mine, ends=ends, apply=apply)
        return await _records(sessions) - before
    finally:
        await consumer.stop()
        await engine.dispose()


async def _apply(sessions, *, effect, events: list) -> None:  # noqa: ANN001
    for attempt in range(RETRIES):
        try:
            async with sessions() as session:
                await effect(session, events)
                await session.commit()
            return
        except IntegrityError:
            if attempt == RETRIES - 1:
                raise


async def _records(sessions) -> int:  # noqa: ANN001
    async with sessions() as session:
        return (await session.exec(select(func.count()).select_from(FeedRecord))).one()


def _day(text: str, zone: ZoneInfo) -> datetime:
    return datetime.combine(date.fromisoformat(text), time(0), tzinfo=zone)


def main(argv: list[str] | None = None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    parser = argparse.ArgumentParser(prog="python -m reporting.national_feed.backfill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--org-unit", action="append", required=True, help="a centre that joins (repeat for more)")
    parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD (Asia/Bangkok)")
    parser.add_argument("--to", dest="end", required=True, help="the day after the last, YYYY-MM-DD")
    args = parser.parse_args(argv)
    settings = ReportingSettings()
    if not settings.national_feed.enabled:
        print("error: the national feed has no target (NATIONAL_FEED_TARGET): nothing would be sent", file=err)
        return EXIT_FAILED
    zone = ZoneInfo(settings.timezone)
    try:
        start, end = _day(args.start, zone), _day(args.end, zone)
    except ValueError as error:
        print(f"error: --from/--to: {error}", file=err)
        return EXIT_FAILED
    if end <= start:
        print("error: --to must be after --from", file=err)
        return EXIT_FAILED
    added = asyncio.run(backfill(settings=settings, org_units=args.org_unit, start=start, end=end))
    print(f"{added} records added for {', '.join(args.org_unit)} from {args.start} to {args.end}", file=out)
    return EXIT_DONE


if __name__ == "__main__":
    sys.exit(main())
