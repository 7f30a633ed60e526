"""Months and years as Thai government documents write them: Buddhist Era years (พ.ศ. = ค.ศ. + 543),
full Thai month names, and the fiscal year that runs 1 October – 30 September.

Months travel through the system in the Christian Era ('2026-11', as the intake and the facts
store them); only what a person reads is converted. Fiscal years are named in the Buddhist Era,
because that is the only way offices name them ("ปีงบประมาณ พ.ศ. 2567").
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

BE_OFFSET = 543
BANGKOK = ZoneInfo("Asia/Bangkok")
THAI_MONTHS = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)
THAI_MONTHS_SHORT = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)
# A year at or past this is almost surely a Buddhist Era year typed where a Christian Era one
# belongs (BE 2400 = CE 1857): refused with the conversion spelled out, never converted silently.
_FIRST_BE_LOOKING_YEAR = 2400
_FIRST_CE_YEAR = 1900
# [0-9], not \d: \d takes Thai digits (๒๕๖๙), and int() would then convert them silently.
_MONTH_TEXT = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_YEAR_TEXT = re.compile(r"^[0-9]{4}$")


class MonthError(ValueError):
    """A month or fiscal year that cannot be read; `reason_th` says the same for a clerk."""

    def __init__(self, reason: str, reason_th: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reason_th = reason_th


def buddhist_year(ce_year: int) -> int:
    return ce_year + BE_OFFSET


def christian_year(be_year: int) -> int:
    return be_year - BE_OFFSET


def bangkok_date(moment: date) -> date:
    """The calendar day in Thailand. An aware datetime is converted first: 1 Oct 01:00 in Bangkok
    is still 30 Sep in UTC, and would fall into the previous fiscal year."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("a naive datetime has no time zone: pass an aware one, or a date in Thai time")
        return moment.astimezone(BANGKOK).date()
    return moment


def thai_date(day: date) -> str:
    """'25 พฤศจิกายน พ.ศ. 2569'."""
    day = bangkok_date(day)
    return f"{day.day} {THAI_MONTHS[day.month - 1]} พ.ศ. {buddhist_year(day.year)}"


@dataclass(frozen=True, order=True, slots=True)
class Month:
    """A calendar month, year in the Christian Era as stored; Thai labels on demand."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise MonthError(f"month {self.month} is not 1-12", f"เดือน {self.month} ไม่อยู่ระหว่าง 1-12")
        _check_ce_year(self.year, shown=str(self.year))

    @classmethod
    def of(cls, moment: date) -> "Month":
        day = bangkok_date(moment)
        return cls(day.year, day.month)

    @property
    def key(self) -> str:
        """'2026-11', the form the API and the facts use."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    @property
    def be_year(self) -> int:
        return buddhist_year(self.year)

    @property
    def name_th(self) -> str:
        """'พฤศจิกายน'."""
        return THAI_MONTHS[self.month - 1]

    @property
    def label_th(self) -> str:
        """'พฤศจิกายน พ.ศ. 2569'."""
        return f"{self.name_th} พ.ศ. {self.be_year}"

    @property
    def title_th(self) -> str:
        """'ประจำเดือนพฤศจิกายน พ.ศ. 2569', as the forms' title line reads (no space after
        ประจำเดือน: Thai writes the month name straight on)."""
        return f"ประจำเดือน{self.label_th}"

    @property
    def fiscal_year(self) -> "FiscalYear":
        return FiscalYear.of(self.first_day)

    def next(self) -> "Month":
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> "Month":
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def __str__(self) -> str:
        return self.key


def parse_month(text: str) -> Month:
    """'2026-11' → Month(2026, 11); anything else raises MonthError saying what to write."""
    found = _MONTH_TEXT.match(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise MonthError(
            f"'{text}' is not a month written YYYY-MM (Christian Era), e.g. 2026-11",
            f"'{text}' ไม่ใช่เดือนในรูปแบบ ปปปป-ดด (ปี ค.ศ.) เช่น 2026-11",
        )
    year, month = int(found.group(1)), int(found.group(2))
    if not 1 <= month <= 12:
        raise MonthError(
            f"'{text}': month {found.group(2)} is not 01-12", f"'{text}': เดือน {found.group(2)} ไม่อยู่ระหว่าง 01-12"
        )
    _check_ce_year(year, shown=text)
    return Month(year, month)


def _check_ce_year(year: int, *, shown: str) -> None:
    if year >= _FIRST_BE_LOOKING_YEAR:
        ce = christian_year(year)
        raise MonthError(
            f"'{shown}': {year} is a Buddhist Era year (พ.ศ.); write the Christian Era year ({ce})",
            f"'{shown}': ปี {year} เป็นปี พ.ศ. กรุณาเขียนเป็นปี ค.ศ. ({ce})",
        )
    if year < _FIRST_CE_YEAR:
        raise MonthError(f"'{shown}': year {year} is out of range", f"'{shown}': ปี {year} อยู่นอกช่วงที่ใช้ได้")


@dataclass(frozen=True, order=True, slots=True)
class FiscalYear:
    """Thai government fiscal year, named by its Buddhist Era year: FY2567 runs
    1 Oct 2023 – 30 Sep 2024 (it is named after the year it ends in)."""

    be_year: int

    def __post_init__(self) -> None:
        if self.be_year < _FIRST_BE_LOOKING_YEAR:
            raise MonthError(
                f"fiscal year {self.be_year} is not a Buddhist Era year (e.g. 2567)",
                f"ปีงบประมาณ {self.be_year} ไม่ใช่ปี พ.ศ. (เช่น 2567)",
            )

    @classmethod
    def of(cls, moment: date) -> "FiscalYear":
        day = bangkok_date(moment)
        return cls(buddhist_year(day.year + 1 if day.month >= 10 else day.year))

    @property
    def start(self) -> date:
        return date(christian_year(self.be_year) - 1, 10, 1)

    @property
    def end(self) -> date:
        return date(christian_year(self.be_year), 9, 30)

    @property
    def label_th(self) -> str:
        """'ปีงบประมาณ พ.ศ. 2567'."""
        return f"ปีงบประมาณ พ.ศ. {self.be_year}"

    @property
    def months(self) -> tuple[Month, ...]:
        """October to September, in order."""
        first = Month.of(self.start)
        months = [first]
        while len(months) < 12:
            months.append(months[-1].next())
        return tuple(months)

    def __contains__(self, moment: object) -> bool:
        if isinstance(moment, Month):
            moment = moment.first_day
        return isinstance(moment, date) and self.start <= bangkok_date(moment) <= self.end

    def __str__(self) -> str:
        return str(self.be_year)


def parse_fiscal_year(text: str) -> FiscalYear:
    """'2567' → FiscalYear(2567). A Christian Era year is refused: '2024' could mean FY2567 or
    FY2568 depending on who typed it, so the caller is told the Buddhist Era choices."""
    value = text.strip() if isinstance(text, str) else ""
    if not _YEAR_TEXT.match(value):
        raise MonthError(
            f"'{text}' is not a fiscal year written as a Buddhist Era year, e.g. 2567",
            f"'{text}' ไม่ใช่ปีงบประมาณ กรุณาเขียนเป็นปี พ.ศ. เช่น 2567",
        )
    year = int(value)
    if year < _FIRST_BE_LOOKING_YEAR:
        be = buddhist_year(year)
        raise MonthError(
            f"'{text}' is a Christian Era year; fiscal years are written in the Buddhist Era: "
            f"FY{be} ends on 30 Sep {year}, FY{be + 1} starts on 1 Oct {year}",
            f"'{text}' เป็นปี ค.ศ. ปีงบประมาณเขียนเป็นปี พ.ศ. เช่น {be} หรือ {be + 1}",
        )
    return FiscalYear(year)
