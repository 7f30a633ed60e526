"""The overdue watch: a background loop that finds referrals past a deadline and announces
each newly reached rung of the escalation ladder once (table + outbox, one transaction)."""

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from agency_adapters.deadlines import DeadlinePolicy, breaches
from agency_adapters.lifecycle import FINAL_STATUSES
from agency_adapters.models import AgencyReferral, OverdueNotice
from shared import ids
from shared.background import every
from shared.agencies import AGENCIES, Agency
from shared.contracts import ReferralOverdueV1
from shared.db import OutboxRelay, add_to_outbox, stored_utc
from shared.topics import Topics

logger = logging.getLogger("songtor.agency.overdue")
BANGKOK = ZoneInfo("Asia/Bangkok")


def _bangkok_day(moment: datetime) -> date:
    return stored_utc(moment).astimezone(BANGKOK).date()


def overdue_lease(agencies: tuple[Agency, ...]) -> str:
    """The name of the lease of the watch over these agencies (shared/db/leases.py)."""
    return "overdue-watch" if set(agencies) == set(AGENCIES) else "overdue-watch:" + ",".join(sorted(agencies))


class OverdueWatch:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        relay: OutboxRelay,
        topics: Topics,
        policies: dict[str, DeadlinePolicy],
        interval_seconds: float,
        agencies: tuple[Agency, ...] = AGENCIES,
    ) -> None:
        self._sessions, self._relay, self._topics = sessions, relay, topics
        self._policies, self._interval = policies, interval_seconds
        # Only the agencies this process consumes for: processes sharing one database then
        # never both announce the same breach.
        self._agencies = agencies

    async def scan(self, *, today: date | None = None) -> int:
        """Announce every new breach; returns how many notices were published."""
        today = today or datetime.now(BANGKOK).date()
        now = datetime.now(UTC)
        announced = 0
        async with self._sessions() as session:
            # Only the columns a deadline needs: whole rows (with each person) of every open
            # referral would be hundreds of MB at a province's volumes, every scan.
            open_referrals = (
                await session.exec(select(
                    AgencyReferral.referral_id, AgencyReferral.intake_id, AgencyReferral.agency,
                    AgencyReferral.status, AgencyReferral.assigned_at,
                ).where(
                    col(AgencyReferral.status).not_in(FINAL_STATUSES), col(AgencyReferral.agency).in_(self._agencies),
                    col(AgencyReferral.assigned_at) < self._youngest_possibly_late(today),
                ))
            ).all()
            known = {
                (n.referral_id, n.stage, n.level)
                for n in (await session.exec(select(OverdueNotice))).all()
            }
            for referral in open_referrals:
                policy = self._policies.get(referral.agency, DeadlinePolicy())
                assigned_on = _bangkok_day(referral.assigned_at)
                for breach in breaches(status=referral.status, assigned_on=assigned_on, today=today, policy=policy, final=False):
                    for level in breach.levels:
                        if (referral.referral_id, breach.stage, level) in known:
                            continue
                        session.add(OverdueNotice(referral_id=referral.referral_id, stage=breach.stage, level=level, announced_at=now))
                        add_to_outbox(session, topic=self._topics.referral_overdue, key=referral.referral_id, event=ReferralOverdueV1(
                            event_id=ids.derived_event_id(source_id=referral.referral_id, purpose=f"overdue/{breach.stage}/{level}"),
                            occurred_at=now, correlation_id=referral.intake_id, producer="agency-adapters",
                            referral_id=referral.referral_id, intake_id=referral.intake_id, agency=referral.agency,
                            status=referral.status, stage=breach.stage, due_date=breach.due,
                            working_days_overdue=breach.working_days_overdue, escalation_level=level,
                        ))
                        announced += 1
            await session.commit()
        if announced:
            await self._relay.flush()
            logger.info("announced %d overdue notices", announced)
        return announced

    def _youngest_possibly_late(self, today: date) -> datetime:
        """No referral can be late before its shortest deadline has passed, and a deadline of N
        working days ends at least N calendar days after the day of assignment: referrals
        assigned since the start of that day (Bangkok) are not even read."""
        policies = [self._policies.get(agency, DeadlinePolicy()) for agency in self._agencies]
        grace = min((min(p.acknowledge_days, p.finish_days) for p in policies), default=1)
        return datetime.combine(today - timedelta(days=grace), time.min, tzinfo=BANGKOK).astimezone(UTC)

    async def run(self) -> None:
        await every(self._interval, self.scan, what="overdue scan", logger=logger)
