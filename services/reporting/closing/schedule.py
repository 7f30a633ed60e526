"""When each form is due. Pure: the caller gives the day (Asia/Bangkok)."""

from dataclasses import dataclass
from datetime import date
from typing import Literal

from reporting.forms import Month

Form = Literal["sp12", "snb2"]
FORMS: tuple[Form, ...] = ("sp12", "snb2")


@dataclass(frozen=True, slots=True)
class CloseSchedule:
    """SP-12 is filed by the 25th of the month it reports; SNB-2 by the 5th of the next one."""

    sp12_due_day: int = 25
    snb2_due_day: int = 5

    def due_date(self, *, form: Form, month: Month) -> date:
        if form == "sp12":
            return _day_in(month, self.sp12_due_day)
        return _day_in(month.next(), self.snb2_due_day)

    def is_due(self, *, form: Form, month: Month, today: date) -> bool:
        return today >= self.due_date(form=form, month=month)


def _day_in(month: Month, day: int) -> date:
    # A due day past the month's end (e.g. 31 in February) falls on its last day.
    return month.first_day.replace(day=min(day, month.last_day.day))
