"""Deadlines in Thai working days, and the escalation ladder for overdue referrals. Pure.

Working days skip weekends and Thai public and government holidays (the `holidays` library:
New Year, Songkran, the King's birthday, bridge days for civil servants, ...).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays
from pydantic import BaseModel, ConfigDict, Field

ACKNOWLEDGE, FINISH = "acknowledge", "finish"


class EscalationStep(BaseModel):
    model_config = ConfigDict(frozen=True)
    after_working_days: int = Field(ge=0, description="Working days past the due date.")
    level: str = Field(description="Who is told: officer, agency_head, provincial_labour_office, ...")


class DeadlinePolicy(BaseModel):
    """One agency's deadlines, counted in working days from the assignment."""

    model_config = ConfigDict(frozen=True)
    acknowledge_days: int = Field(default=2, ge=1, description="To accept (or decline) a referral.")
    finish_days: int = Field(default=30, ge=1, description="To reach an outcome.")
    ladder: tuple[EscalationStep, ...] = (
        EscalationStep(after_working_days=0, level="officer"),
        EscalationStep(after_working_days=3, level="agency_head"),
        EscalationStep(after_working_days=7, level="provincial_labour_office"),
    )


@dataclass(frozen=True, slots=True)
class Breach:
    stage: str
    due: date
    working_days_overdue: int
    levels: tuple[str, ...]  # every rung reached so far, lowest first


@lru_cache(maxsize=32)
def _thai_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("TH", years=year, categories=("public", "government")))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _thai_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The day `days` working days after `start` (the start day itself does not count)."""
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_after(due: date, today: date) -> int:
    """Working days from the day after `due` up to and including `today` (0 if not late)."""
    count, day = 0, due
    while day < today:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


def due_dates(*, assigned_on: date, policy: DeadlinePolicy) -> dict[str, date]:
    return {
        ACKNOWLEDGE: add_working_days(assigned_on, policy.acknowledge_days),
        FINISH: add_working_days(assigned_on, policy.finish_days),
    }


def breaches(*, status: str, assigned_on: date, today: date, policy: DeadlinePolicy, final: bool) -> list[Breach]:
    """The deadlines a referral in `status` has missed by `today`, with the rungs reached."""
    if final:
        return []
    stages = [FINISH] + ([ACKNOWLEDGE] if status in ("assigned", "received") else [])
    found: list[Breach] = []
    for stage in stages:
        due = due_dates(assigned_on=assigned_on, policy=policy)[stage]
        if today <= due:
            continue
        late = working_days_after(due, today)
        levels = tuple(step.level for step in policy.ladder if late >= step.after_working_days)
        if levels:
            found.append(Breach(stage=stage, due=due, working_days_overdue=late, levels=levels))
    return sorted(found, key=lambda b: b.stage)
