"""Summaries of the help given in a province (or one org unit) over a month or a Thai fiscal year:
how many helps and how many people, by category, agency, district, worker type, source
programme, status and month.

A help is what the monthly forms list (form_sources): a referral whose intake arrived in the
period and that was not cancelled, transferred or found unroutable, or a service delivered at
intake. Both are counted where and when the intake was received (Asia/Bangkok month, as the
facts store it), so a fiscal year is simply the twelve month keys October..September.

Every count is a GROUP BY in the database, all of them in one statement over one UNION ALL of
both fact tables: the facts grow to millions of rows, and only a few dozen numbers come back.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

import geothai
from sqlalchemy import CTE, ColumnElement, and_, case, distinct, func, literal, union_all
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting import summary_labels as words
from reporting.form_sources import NOT_A_HELP
from reporting.forms import FiscalYear, Month
from reporting.forms.table import ERASED_PERSON_TH
from reporting.models import IntakeServiceFact, ReferralFact, ReportPerson
from shared.contracts import Sealed
from shared.privacy import KeyWrapper, identities_of
from reporting.summary_labels import AT_INTAKE, UNASSIGNED
from shared.catalog.outcomes import OutcomeCatalog

MASK = "x"
ID_MASK_RULE = "first 6 digits and the check digit shown, the other 6 masked: 3-6401-0xxxx-xx-1"


@dataclass(frozen=True, slots=True)
class Period:
    """A month, or a fiscal year as its twelve months; `first`..`last` are month keys, which
    compare as text in calendar order ('2026-10' < '2027-09')."""

    kind: Literal["month", "fiscal_year"]
    months: tuple[Month, ...]
    label_th: str
    label_en: str
    first_day: date
    last_day: date
    fiscal_year: FiscalYear | None = None

    @classmethod
    def of_month(cls, month: Month) -> "Period":
        return cls("month", (month,), month.label_th, f"{date(month.year, month.month, 1):%B %Y}",
                   month.first_day, month.last_day)

    @classmethod
    def of_fiscal_year(cls, year: FiscalYear) -> "Period":
        return cls("fiscal_year", year.months, year.label_th,
                   f"Fiscal year {year.be_year} (1 Oct {year.start.year} - 30 Sep {year.end.year})",
                   year.start, year.end, year)

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "month": self.months[0].key if self.kind == "month" else None,
            "fiscal_year": self.fiscal_year.be_year if self.fiscal_year else None,
            "label_th": self.label_th, "label_en": self.label_en,
            "first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat(),
            "months": [m.key for m in self.months],
        }


def mask_national_id(*, head: str | None, check_digit: str | None, length: int | None) -> str:
    """'3-6401-0xxxx-xx-1' from the first six digits and the last. Six digits say where the ID
    was issued (the office knows that anyway) and the check digit tells two similar names apart
    on paper; the six hidden digits leave 100,000 candidates. Anything that is not a 13-digit ID
    is masked whole rather than guessed at."""
    if length != 13 or not head or not check_digit or not (head + check_digit).isdigit():
        return "x-xxxx-xxxxx-xx-x"
    return f"{head[0]}-{head[1:5]}-{head[5]}xxxx-xx-{check_digit}"


def _outcome_category(outcomes: OutcomeCatalog | None) -> ColumnElement:
    """A completed referral counts under its outcome's category, as the forms print it
    (labels.assistance_label); the outcome catalog becomes a CASE so it stays in SQL."""
    whens = [
        (and_(ReferralFact.agency == agency, ReferralFact.outcome_code == code), definition.category)
        for (agency, code), definition in (outcomes.outcomes.items() if outcomes else ())
    ]
    return case(*whens, else_=col(ReferralFact.category)) if whens else col(ReferralFact.category)


def _helps(*, province: str, org_unit: str | None, period: Period, outcomes: OutcomeCatalog | None) -> CTE:
    """Every help of the period as one row (what it was, where, for whom), both fact tables as one.
    MATERIALIZED: the facts are read once per summary, then grouped seven ways in memory; seven
    separate scans cost three to six times as much over a fiscal year of a large province."""
    first, last = period.months[0].key, period.months[-1].key
    referrals = select(
        _outcome_category(outcomes).label("category"),
        col(ReferralFact.agency).label("agency"),
        col(ReferralFact.district_code).label("district"),
        col(ReferralFact.worker_type).label("worker_type"),
        col(ReferralFact.source_program).label("source_program"),
        col(ReferralFact.status).label("status"),
        col(ReferralFact.intake_month).label("month"),
        col(ReferralFact.person_ref).label("person_ref"),
    ).where(
        ReferralFact.province_code == province,
        col(ReferralFact.intake_month).between(first, last),
        col(ReferralFact.has_intake).is_(True),
        col(ReferralFact.status).not_in(NOT_A_HELP),
    )
    services = select(
        col(IntakeServiceFact.category), literal(AT_INTAKE), col(IntakeServiceFact.district_code),
        col(IntakeServiceFact.worker_type), col(IntakeServiceFact.source_program), literal(AT_INTAKE),
        col(IntakeServiceFact.intake_month), col(IntakeServiceFact.person_ref),
    ).where(
        IntakeServiceFact.province_code == province,
        col(IntakeServiceFact.intake_month).between(first, last),
    )
    if org_unit is not None:
        referrals = referrals.where(ReferralFact.org_unit == org_unit)
        services = services.where(IntakeServiceFact.org_unit == org_unit)
    return union_all(referrals, services).cte("helps").prefix_with("MATERIALIZED")


_DIMENSIONS = ("category", "agency", "district", "worker_type", "source_program", "status", "month")
_ALL = "all"
Counts = dict[str, dict[str, tuple[int, int]]]


async def _counts(session: AsyncSession, helps: CTE) -> Counts:
    """{dimension: {value: (helps, distinct people)}}, plus {"all": {"all": ...}} for the totals,
    in one statement (GROUPING SETS would say it shorter, but SQLite has none)."""
    people = func.count(distinct(helps.c.person_ref))
    parts = [select(literal(_ALL).label("dimension"), literal(_ALL).label("value"), func.count(), people)
             .select_from(helps)]
    parts += [
        select(literal(name), helps.c[name], func.count(), people).group_by(helps.c[name])
        for name in _DIMENSIONS
    ]
    counts: Counts = {name: {} for name in (_ALL, *_DIMENSIONS)}
    rows = await session.exec(union_all(*parts))  # type: ignore[call-overload]
    for dimension, value, n, distinct_people in rows.all():
        counts[dimension][value if value is not None else UNASSIGNED] = (n, distinct_people)
    return counts


def _rows(counts: dict[str, tuple[int, int]], table: words.Words) -> list[dict]:
    """Every known code in the table's order, 0 when none; then anything unexpected, so a count
    is never lost from the page (the totals would no longer add up)."""
    codes = list(table) + sorted(code for code in counts if code not in table)
    return [
        {"code": code, "label_th": words.words(table, code)[0], "label_en": words.words(table, code)[1],
         "helps": counts.get(code, (0, 0))[0], "people": counts.get(code, (0, 0))[1]}
        for code in codes
    ]


def _district_rows(counts: dict[str, tuple[int, int]]) -> list[dict]:
    rows = []
    for code in sorted(counts):
        found = geothai.district(code) if code != UNASSIGNED else None
        rows.append({"code": code, "label_th": found.name_th if found else words.NOT_GIVEN[0],
                     "label_en": found.name_en if found else words.NOT_GIVEN[1],
                     "helps": counts[code][0], "people": counts[code][1]})
    return rows


def _month_rows(counts: dict[str, tuple[int, int]], period: Period) -> list[dict]:
    return [
        {"code": m.key, "label_th": m.label_th, "label_en": f"{m.first_day:%B %Y}",
         "helps": counts.get(m.key, (0, 0))[0], "people": counts.get(m.key, (0, 0))[1]}
        for m in period.months
    ]


def _totals(counts: Counts) -> dict[str, int]:
    count, people = counts[_ALL].get(_ALL, (0, 0))
    services = counts["agency"].get(AT_INTAKE, (0, 0))[0]
    return {"helps": count, "referrals": count - services, "services_at_intake": services, "people": people}


async def _people_helped(
    session: AsyncSession, *, helps: CTE, limit: int, master_keys: KeyWrapper
) -> list[dict]:
    """Names with masked IDs, by name, erased people last. Identities are sealed at rest: each is
    opened here and only its mask leaves this function, so no full ID reaches a page, a log line
    or a cache by mistake. Names are sealed, so the order is made here, not by the database."""
    rows = (await session.exec(
        select(col(ReportPerson.person_ref), col(ReportPerson.identity_json), func.count())  # type: ignore[call-overload]
        .join(helps, helps.c.person_ref == col(ReportPerson.person_ref))
        .group_by(col(ReportPerson.person_ref), col(ReportPerson.identity_json))
    )).all()
    identities = await identities_of(session, wrapper=master_keys, person_refs=[ref for ref, _, _ in rows])
    people = []
    for person_ref, identity_json, count in rows:
        identity = identities.identity(Sealed.model_validate_json(identity_json), person_ref=person_ref)
        if identity is None:
            people.append(((1, "", person_ref), {"full_name": ERASED_PERSON_TH, "national_id_masked": None,
                                                 "helps": count, "erased": True}))
            continue
        masked = mask_national_id(head=identity.national_id[:6], check_digit=identity.national_id[12:13],
                                  length=len(identity.national_id))
        people.append(((0, identity.full_name, person_ref),
                       {"full_name": identity.full_name, "national_id_masked": masked, "helps": count, "erased": False}))
    people.sort(key=lambda pair: pair[0])
    return [person for _, person in people[:limit]]


async def summary(
    session: AsyncSession,
    *,
    province: str,
    period: Period,
    zone: ZoneInfo,
    org_unit: str | None = None,
    outcomes: OutcomeCatalog | None = None,
    people_limit: int = 0,
    master_keys: KeyWrapper | None = None,
    now: datetime | None = None,
) -> dict:
    """The summary as JSON-ready data; `people_limit` > 0 adds that many people (masked IDs)."""
    helps = _helps(province=province, org_unit=org_unit, period=period, outcomes=outcomes)
    counts = await _counts(session, helps)
    totals = _totals(counts)
    found = geothai.province(province)
    result: dict = {
        "province": province,
        "province_name_th": found.name_th if found else None,
        "province_name_en": found.name_en if found else None,
        "org_unit": org_unit,
        "period": period.as_json(),
        "counted_by": "month the intake was received (Asia/Bangkok); a completed referral under its outcome's category",
        "totals": totals,
        "by_category": _rows(counts["category"], words.CATEGORY),
        "by_agency": _rows(counts["agency"], words.AGENCY),
        "by_district": _district_rows(counts["district"]),
        "by_worker_type": _rows(counts["worker_type"], words.WORKER_TYPE),
        "by_source_program": _rows(counts["source_program"], words.SOURCE_PROGRAM),
        "by_status": _rows(counts["status"], words.STATUS),
        "by_month": _month_rows(counts["month"], period),
        "people": None,
        "generated_at": (now or datetime.now(zone)).astimezone(zone).isoformat(timespec="seconds"),
        "timezone": zone.key,
    }
    if people_limit > 0:
        if master_keys is None:
            raise ValueError("listing people needs the master keys that open their identities")
        listed = await _people_helped(session, helps=helps, limit=people_limit, master_keys=master_keys)
        result["people"] = {"listed": listed, "total": totals["people"], "truncated": totals["people"] > people_limit,
                            "national_id_mask": ID_MASK_RULE}
    return result
