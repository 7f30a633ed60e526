"""Send a past period of the centres that join the national feed later.

    python -m reporting.national_feed.backfill --org-unit 6406 --from 2026-10-01 --to 2026-12-01

Replays the log (intake.submitted, referral.assigned.<agency>, referral.updated, person.consents)
from its beginning up to where it ends now, through the same rules as the live feed, for the
rehabilitation and CI-centre intakes of these org units received in [from, to) (Asia/Bangkok
days) whose person's consent stands today: every answer a person gave since and every withdrawal
are read first, so that nothing goes for someone who has since said no. Records get the delivery
ids the live feed gives them, so what the live feed recorded already is not recorded again, and
running the same backfill twice records nothing the second time. The service's sender sends what
it records, in each person's order. Prints how many records it added.

Not through the live consumers' inbox, and nothing is written for intakes outside the backfill:
the live feed's groups and rows are left as they are, and a backfill of another centre or period
later replays the same events again.
"""

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time
from typing import TextIO
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select

from reporting.log_replay import partitions_of, replay_topic
from reporting.national_feed.handlers import ASSIGNED, INTAKES, UPDATED, feed_effects
from reporting.national_feed.ledger import FeedRules
from reporting.national_feed.mapping import load_assistance_map
from reporting.national_feed.models import FeedRecord
from reporting.national_feed.records import FED_PROGRAMS
from reporting.settings import ReportingSettings
from shared.catalog.outcomes import load_outcomes
from shared.contracts import IntakeSubmittedV2, ReferralAssignedV2, ReferralUpdatedV2
from shared.contracts.person import PersonConsentWithdrawnV1
from shared.db import make_engine, session_factory
from shared.kafka.connection import client_options

EXIT_DONE, EXIT_FAILED = 0, 1
RETRIES = 5  # a batch that met the live feed recording the same record at the same moment


async def backfill(*, settings: ReportingSettings, org_units: Sequence[str], start: datetime, end: datetime) -> int:
    """Records added."""
    units, topics = frozenset(org_units), settings.kafka.topics
    outcomes = load_outcomes(settings.outcomes_path)
    # The intakes are chosen below: the rules take every one they are given.
    rules = FeedRules(mapping=load_assistance_map(settings.national_feed.map_path, outcomes=outcomes), outcomes=outcomes,
                      joins=lambda _org_unit, _received_at: True)
    effects = feed_effects(rules)
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    login = client_options(settings.kafka)
    consumer = AIOKafkaConsumer(**login, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        before = await _records(sessions)
        partitions = await partitions_of(login=login, topics=[topics.intake_submitted, *topics.all_assigned(),
                                                              topics.referral_updated, topics.person_consents])
        await consumer.start()
        ends = await consumer.end_offsets(partitions) if partitions else {}

        async def replay(names: Sequence[str], model: type, take: Callable[[list], Awaitable[None]]) -> None:
            async def apply(records: list) -> None:
                events = []
                for record in records:
                    try:
                        events.append(model.model_validate_json(record.value or b""))
                    except ValidationError:
                        continue  # dead-lettered by the live consumer: nothing to send
                await take(events)

            mine = [tp for tp in partitions if tp.topic in names]
            if mine:
                await replay_topic(consumer, partitions=mine, ends=ends, apply=apply)

        # First what each person answers today: their latest answer on a rehabilitation or CI
        # intake, and their withdrawals.
        consent = Consents()
        await replay([topics.intake_submitted], IntakeSubmittedV2, consent.read_intakes)
        await replay([topics.person_consents], PersonConsentWithdrawnV1, consent.read_withdrawals)
        chosen: set[str] = set()

        async def intakes(events: list) -> None:
            wanted = [i for i in events if i.source.org_unit in units and start <= i.received_at < end
                      and i.source.program in FED_PROGRAMS and i.consent.share_with_national_system
                      and consent.stands(i.person_ref)]
            chosen.update(i.intake_id for i in wanted)
            await _apply(sessions, effect=effects[INTAKES][1], events=wanted)

        def of_chosen(name: str) -> Callable[[list], Awaitable[None]]:
            async def take(events: list) -> None:
                await _apply(sessions, effect=effects[name][1], events=[e for e in events if e.intake_id in chosen])
            return take

        await replay([topics.intake_submitted], IntakeSubmittedV2, intakes)
        await replay(topics.all_assigned(), ReferralAssignedV2, of_chosen(ASSIGNED))
        await replay([topics.referral_updated], ReferralUpdatedV2, of_chosen(UPDATED))
        return await _records(sessions) - before
    finally:
        await consumer.stop()
        await engine.dispose()


class Consents:
    """Each person's answer as it stands at the end of the log (the rule of ledger.consenting)."""

    def __init__(self) -> None:
        self.answered: dict[str, tuple[datetime, bool]] = {}
        self.withdrawn: dict[str, datetime] = {}

    async def read_intakes(self, intakes: list[IntakeSubmittedV2]) -> None:
        for intake in intakes:
            if intake.source.program not in FED_PROGRAMS:
                continue  # not asked there
            at = min(intake.consent.recorded_at, intake.received_at)
            if intake.person_ref not in self.answered or self.answered[intake.person_ref][0] <= at:
                self.answered[intake.person_ref] = (at, bool(intake.consent.share_with_national_system))

    async def read_withdrawals(self, withdrawals: list[PersonConsentWithdrawnV1]) -> None:
        for event in withdrawals:
            self.withdrawn[event.person_ref] = max(event.withdrawn_at, self.withdrawn.get(event.person_ref, event.withdrawn_at))

    def stands(self, person_ref: str) -> bool:
        at, yes = self.answered.get(person_ref, (None, False))
        withdrawn = self.withdrawn.get(person_ref)
        return yes and at is not None and (withdrawn is None or withdrawn < at)


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
