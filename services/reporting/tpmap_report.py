"""The TPMAP report: of the people helped in a province over a month or a Thai fiscal year, how
many were on the TPMAP target-household list when they were referred, by district.

"Helped" is what the forms and summaries count (form_sources.NOT_A_HELP): a referral whose
intake arrived in the period and was not cancelled, transferred or found unroutable, or a
service delivered at intake; where and when the intake was received (Asia/Bangkok month).

Each person is counted once, in the district of their first help of the period. Whether they
were on the list is what each help recorded when its intake was applied (registry_stamps: the
snapshot in effect on the intake's day and already loaded then). They count as a target when
any of their helps found them on a snapshot; as not a target when some snapshot was in effect
and none listed them; as unknown when no snapshot was in effect at any of their helps, never as
"not a target". A later import never changes a stamp, so a report re-run after the next import
still says what was true then.
"""

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import geothai
from sqlalchemy import union_all
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.form_sources import NOT_A_HELP
from reporting.forms import thai_date
from reporting.models import IntakeServiceFact, ReferralFact
from reporting import registry_stamps
from reporting.registries.models import RegistryKind
from reporting.summaries import Period
from reporting.summary_labels import NOT_GIVEN, UNASSIGNED
from shared.db import stored_utc

TARGET, NOT_TARGET, UNKNOWN = "targets", "not_targets", "unknown"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
HEADER_TH = ("รหัสอำเภอ", "อำเภอ", "ผู้ได้รับความช่วยเหลือ (คน)", "เป็นเป้าหมาย TPMAP (คน)",
             "ไม่เป็นเป้าหมาย TPMAP (คน)", "ไม่ทราบ: ไม่มีบัญชี TPMAP ณ วันที่ส่งต่อ (คน)")


@dataclass(slots=True)
class _Person:
    district: str  # of the first help of the period
    first: datetime
    answers: dict[int | None, bool | None]  # snapshot import id -> on it; None: no snapshot then


async def _people_helped(session: AsyncSession, *, province: str, period: Period, zone: ZoneInfo) -> dict[str, _Person]:
    """Each person helped in the period with the TPMAP stamps of their helps: only (person,
    district, moment, stamp) leave the database, never names or IDs."""
    first, last = period.months[0].key, period.months[-1].key
    referrals = select(
        col(ReferralFact.person_ref), col(ReferralFact.district_code), col(ReferralFact.intake_month),
        col(ReferralFact.intake_received_at), col(ReferralFact.tpmap_registry), col(ReferralFact.tpmap_registry_import_id),
    ).where(
        ReferralFact.province_code == province, col(ReferralFact.intake_month).between(first, last),
        col(ReferralFact.has_intake).is_(True), col(ReferralFact.status).not_in(NOT_A_HELP),
    )
    services = select(
        col(IntakeServiceFact.person_ref), col(IntakeServiceFact.district_code), col(IntakeServiceFact.intake_month),
        col(IntakeServiceFact.intake_received_at), col(IntakeServiceFact.tpmap_registry),
        col(IntakeServiceFact.tpmap_registry_import_id),
    ).where(IntakeServiceFact.province_code == province, col(IntakeServiceFact.intake_month).between(first, last))
    people: dict[str, _Person] = {}
    rows = (await session.exec(union_all(referrals, services))).all()  # type: ignore[call-overload]
    for ref, district, month, received, on_tpmap, import_id in rows:
        if ref is None:
            continue
        # A service recorded before services kept their time: the first day of its month.
        moment = stored_utc(received) if received is not None else datetime.combine(
            date(int(month[:4]), int(month[5:7]), 1), time(), tzinfo=zone)
        district = district or UNASSIGNED
        person = people.setdefault(ref, _Person(district=district, first=moment, answers={}))
        if import_id is None:
            person.answers.setdefault(None, None)
        else:  # listed by a snapshot at any of their helps: a target when helped at least once
            person.answers[import_id] = bool(person.answers.get(import_id)) or bool(on_tpmap)
        # Ties (a referral and a service of the same intake) resolve by district, so re-runs agree.
        if (moment, district) < (person.first, person.district):
            person.first, person.district = moment, district
    return people


def _answer(person: _Person) -> str:
    stamps = [on for import_id, on in person.answers.items() if import_id is not None]
    if any(on is True for on in stamps):
        return TARGET
    return NOT_TARGET if stamps else UNKNOWN


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
    districts: dict[str, Counter] = defaultdict(Counter)
    checked: Counter = Counter()
    listed: Counter = Counter()
    for person in people.values():
        districts[person.district][_answer(person)] += 1
        for import_id, on in person.answers.items():
            if import_id is not None:
                checked[import_id] += 1
                listed[import_id] += bool(on)
    snapshots = [
        {"import_id": used.import_id, "effective_date": used.effective_date.isoformat(),
         "imported_at": used.imported_at.isoformat(timespec="seconds"),
         "people_checked": checked[used.import_id], "people_listed": listed[used.import_id]}
        for used in await registry_stamps.snapshots(session, import_ids=set(checked))
    ]
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
        "snapshots": snapshots,
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
