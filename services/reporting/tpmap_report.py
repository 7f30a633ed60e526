"""The TPMAP report: of the people helped in a province over a month or a Thai fiscal year, how
many were on the TPMAP target-household list when they were referred, by district.

"Helped" is what the forms and summaries count (form_sources.NOT_A_HELP): a referral whose
intake arrived in the period and was not cancelled, transferred or found unroutable, or a
service delivered at intake; where and when the intake was received (Asia/Bangkok month).

Each person is counted once, in the district of their first help of the period. They count as
a target when they were on the TPMAP snapshot in effect on the day of any of their helps (a
service at intake carries no time of day: the first day of its month, as SNB-2 does); as not a
target when some snapshot was in effect and none listed them; as unknown when no snapshot was
in effect on any of those days, never as "not a target". A later import never changes what an
earlier day answers, so a report re-run after the next import still says what was true then.
"""

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import geothai
from sqlalchemy import literal, union_all
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.form_sources import NOT_A_HELP
from reporting.forms import thai_date
from reporting.models import IntakeServiceFact, ReferralFact
from reporting.registries.lookup import RegistryStatus, registry_status_at
from reporting.registries.models import RegistryKind
from reporting.summaries import Period
from reporting.summary_labels import NOT_GIVEN, UNASSIGNED

TARGET, NOT_TARGET, UNKNOWN = "targets", "not_targets", "unknown"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
HEADER_TH = ("รหัสอำเภอ", "อำเภอ", "ผู้ได้รับความช่วยเหลือ (คน)", "เป็นเป้าหมาย TPMAP (คน)",
             "ไม่เป็นเป้าหมาย TPMAP (คน)", "ไม่ทราบ: ไม่มีบัญชี TPMAP ณ วันที่ส่งต่อ (คน)")


@dataclass(slots=True)
class _Person:
    district: str  # of the first help of the period
    first: datetime
    days: set[date]


def _aware(moment: datetime) -> datetime:
    # SQLite hands datetimes back without their zone; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _people_helped(session: AsyncSession, *, province: str, period: Period, zone: ZoneInfo) -> dict[str, _Person]:
    """Each person helped in the period, with the days of their helps: only (person, district,
    moment) leave the database, never names or IDs."""
    first, last = period.months[0].key, period.months[-1].key
    referrals = select(
        col(ReferralFact.person_ref), col(ReferralFact.district_code), col(ReferralFact.intake_month),
        col(ReferralFact.intake_received_at),
    ).where(
        ReferralFact.province_code == province, col(ReferralFact.intake_month).between(first, last),
        col(ReferralFact.has_intake).is_(True), col(ReferralFact.status).not_in(NOT_A_HELP),
    )
    services = select(
        col(IntakeServiceFact.person_ref), col(IntakeServiceFact.district_code), col(IntakeServiceFact.intake_month),
        literal(None),
    ).where(IntakeServiceFact.province_code == province, col(IntakeServiceFact.intake_month).between(first, last))
    people: dict[str, _Person] = {}
    for ref, district, month, received in (await session.exec(union_all(referrals, services))).all():  # type: ignore[call-overload]
        if ref is None:
            continue
        if received is None:
            moment = datetime.combine(date(int(month[:4]), int(month[5:7]), 1), time(), tzinfo=zone)
        else:
            moment = _aware(received)
        district = district or UNASSIGNED
        person = people.get(ref)
        if person is None:
            people[ref] = _Person(district=district, first=moment, days={moment.astimezone(zone).date()})
            continue
        person.days.add(moment.astimezone(zone).date())
        # Ties (a referral and a service of the same intake) resolve by district, so re-runs agree.
        if (moment, district) < (person.first, person.district):
            person.first, person.district = moment, district
    return people


def _answer(statuses: list[RegistryStatus]) -> str:
    if any(s.on_registry for s in statuses):
        return TARGET
    return NOT_TARGET if any(s.on_registry is False for s in statuses) else UNKNOWN


def _district_row(code: str, counts: Counter) -> dict:
    found = geothai.district(code) if code != UNASSIGNED else None
    return {"code": code, "name_th": found.name_th if found else NOT_GIVEN[0],
            "name_en": found.name_en if found else NOT_GIVEN[1],
            "people_helped": sum(counts.values()), TARGET: counts[TARGET], NOT_TARGET: counts[NOT_TARGET],
            UNKNOWN: counts[UNKNOWN]}


async def tpmap_report(
    session: AsyncSession, *, province: str, period: Period, zone: ZoneInfo, now: datetime | None = None
) -> dict:
    """The report as JSON-ready data: totals, one row per district (DOPA code order), and the
    TPMAP snapshots the answers rest on (effective date, when imported, people checked against
    it and found on it)."""
    people = await _people_helped(session, province=province, period=period, zone=zone)
    by_day: dict[date, list[str]] = defaultdict(list)
    for ref, person in people.items():
        for day in person.days:
            by_day[day].append(ref)
    answers: dict[str, list[RegistryStatus]] = defaultdict(list)
    for day, refs in sorted(by_day.items()):
        found = await registry_status_at(session, kind=RegistryKind.TPMAP, person_refs=refs, at=day)
        for ref, status in found.items():
            answers[ref].append(status)
    districts: dict[str, Counter] = defaultdict(Counter)
    snapshots: dict[int, dict] = {}
    for ref, person in people.items():
        districts[person.district][_answer(answers[ref])] += 1
        for import_id in {s.import_id for s in answers[ref] if s.import_id is not None}:
            status = next(s for s in answers[ref] if s.import_id == import_id)
            used = snapshots.setdefault(import_id, {
                "import_id": import_id,
                "effective_date": status.effective_date.isoformat() if status.effective_date else None,
                "imported_at": _aware(status.imported_at).isoformat(timespec="seconds") if status.imported_at else None,
                "people_checked": 0, "people_listed": 0})
            used["people_checked"] += 1
            used["people_listed"] += any(s.on_registry for s in answers[ref] if s.import_id == import_id)
    total: Counter = sum(districts.values(), Counter())
    found = geothai.province(province)
    return {
        "province": province,
        "province_name_th": found.name_th if found else None,
        "province_name_en": found.name_en if found else None,
        "period": period.as_json(),
        "registry": RegistryKind.TPMAP.value,
        "counted_by": "people helped (not cancelled, transferred or unroutable), once each, in the district of "
                      "their first help of the period; a target when on the TPMAP snapshot in effect on the day "
                      "(Asia/Bangkok) of any of their helps",
        "totals": {"people_helped": len(people), TARGET: total[TARGET], NOT_TARGET: total[NOT_TARGET],
                   UNKNOWN: total[UNKNOWN]},
        "by_district": [_district_row(code, districts[code]) for code in sorted(districts)],
        "snapshots": sorted(snapshots.values(), key=lambda s: (s["effective_date"] or "", s["import_id"])),
        "generated_at": (now or datetime.now(zone)).astimezone(zone).isoformat(timespec="seconds"),
        "timezone": zone.key,
    }


def tpmap_csv(report: dict) -> bytes:
    """The report as the office sends it on: Thai title lines, one row per district, a total
    row. UTF-8 with a BOM, so Excel shows the Thai."""
    totals, period = report["totals"], report["period"]
    used = ", ".join(f"ฉบับวันที่ {thai_date(date.fromisoformat(s['effective_date']))}"
                     for s in report["snapshots"] if s["effective_date"]) or "ไม่มี"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([f"รายงานผู้ได้รับความช่วยเหลือที่เป็นครัวเรือนเป้าหมาย TPMAP จังหวัด"
                     f"{report['province_name_th'] or report['province']} {period['label_th']}"])
    writer.writerow([f"ผู้ได้รับความช่วยเหลือ {totals['people_helped']} คน เป็นเป้าหมาย TPMAP {totals[TARGET]} คน"])
    writer.writerow([f"ตรวจสอบกับบัญชีเป้าหมาย TPMAP ที่มีผล ณ วันที่ส่งต่อ: {used}"])
    writer.writerow(HEADER_TH)
    for row in report["by_district"]:
        writer.writerow([row["code"], row["name_th"], row["people_helped"], row[TARGET], row[NOT_TARGET], row[UNKNOWN]])
    writer.writerow(["", "รวม", totals["people_helped"], totals[TARGET], totals[NOT_TARGET], totals[UNKNOWN]])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def csv_file_name(report: dict) -> str:
    period = report["period"]
    key = period["month"] if period["kind"] == "month" else f"fy{period['fiscal_year']}"
    return f"tpmap-{report['province']}-{key}.csv"
