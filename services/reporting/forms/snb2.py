"""Form สนบ.2 (SNB-2): the people a Provincial Labour Office helped in one month, due on the 5th
of the next month with the summary form สนบ.1.

Wording from the paper form (seed 004, ภาพที่ ๓): title "แบบรายงานผลการช่วยเหลือแรงงานนอกระบบ
แรงงานสูงอายุ และแรงงานคนพิการ ภายใต้แผนปฏิบัติการส่งเสริม คุ้มครอง และการพัฒนาแรงงานนอกระบบฯ
ประจำปี ...", then "จังหวัด.....", "ประจำเดือน..... จำนวน.....คน"; columns ลำดับที่ /
ชื่อแผนงาน/โครงการ/กิจกรรม / ชื่อ-สกุล / เลขบัตรประชาชน ๑๓ หลัก / ประเภทการช่วยเหลือ/การให้บริการ /
ประเภทของแรงงาน / หมายเหตุ, the last split into มีรายชื่อในฐานข้อมูลฯ and ไม่มีรายชื่อในฐานข้อมูลฯ,
ticked ✓. The paper's worker-type heading breaks off after แรงงานสูงอายุ/; it is completed as on
SP-12, and its misspelt คุ่มครอง is written คุ้มครอง.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from reporting.forms.table import FormTable, by_person, check_person, person_key, count_line, header_spans, joined
from reporting.forms.thai_calendar import Month, thai_date

FORM_NAME = "แบบ สนบ.2"
FORM_TITLE = "แบบรายงานผลการช่วยเหลือแรงงานนอกระบบ แรงงานสูงอายุ และแรงงานคนพิการ"
TICK = "✓"
# Two header rows, as on paper: หมายเหตุ spans the two registry columns beneath it.
HEADER_TOP = (
    "ลำดับที่",
    "ชื่อแผนงาน/โครงการ/กิจกรรม",
    "ชื่อ-สกุล ผู้ที่ได้รับการช่วยเหลือ",
    "เลขบัตรประชาชน 13 หลัก",
    "ประเภทการช่วยเหลือ/การให้บริการ",
    "ประเภทของแรงงาน (แรงงานนอกระบบ/แรงงานสูงอายุ/แรงงานคนพิการ)",
    "หมายเหตุ",
    "",
)
HEADER_BOTTOM = ("", "", "", "", "", "", "มีรายชื่อในฐานข้อมูลฯ", "ไม่มีรายชื่อในฐานข้อมูลฯ")
_WIDTHS = (9.0, 36.0, 32.0, 20.0, 60.0, 26.0, 14.0, 14.0)
_ID_COLUMN = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Snb2Row:
    """One help given to one person. `on_registry`: whether the person was on the informal-labour
    registry when referred; None when no registry had been imported then (neither box ticked:
    the office does not know, and the form must not guess)."""

    plan_project: str
    full_name: str
    national_id: str  # "" for an erased person
    assistance: str
    worker_type: str
    on_registry: bool | None

    erased_ref: str | None = None  # the person_ref of a person whose personal data was erased

    def __post_init__(self) -> None:
        check_person(national_id=self.national_id, erased_ref=self.erased_ref)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrySnapshot:
    """The informal-labour registry import a tick rests on: its own as-of date and when it was loaded."""

    effective_date: date
    imported_at: datetime


def snb2_form(
    *,
    province_name: str,
    province_code: str,
    month: Month,
    rows: Iterable[Snb2Row],
    generated_at: datetime,
    snapshots: Sequence[RegistrySnapshot] = (),
) -> FormTable:
    """SNB-2 of one province for one month; `province_name` without the word จังหวัด.
    `snapshots`: the registry imports the ticks rest on, named under the table."""
    people = by_person(rows, national_id=lambda r: person_key(national_id=r.national_id, erased_ref=r.erased_ref),
                       name=lambda r: r.full_name)
    lines = tuple(
        (
            number,
            joined(r.plan_project for r in helps),
            joined(r.full_name for r in helps),
            helps[0].national_id,
            joined(r.assistance for r in helps),
            joined(r.worker_type for r in helps),
            *_ticks(registry_status(helps)),
        )
        for number, helps in enumerate(people, start=1)
    )
    header = (HEADER_TOP, HEADER_BOTTOM)
    return FormTable(
        form="snb2",
        sheet_name="สนบ.2",
        title_lines=(
            FORM_NAME,
            FORM_TITLE,
            # The action plan is yearly; the paper's "ประจำปี ๒๕๖๔" is its fiscal year.
            f"ภายใต้แผนปฏิบัติการส่งเสริม คุ้มครอง และการพัฒนาแรงงานนอกระบบฯ ประจำ{month.fiscal_year.label_th}",
            f"จังหวัด{province_name}",
            count_line(month.title_th, len(lines)),
        ),
        header_rows=header,
        header_merges=header_spans(header),
        rows=lines,
        column_widths=_WIDTHS,
        text_columns=frozenset({_ID_COLUMN}),
        person_count=len(lines),
        generated_at=generated_at,
        note_lines=_registry_notes(snapshots, unknown=any(line[-2:] == ("", "") for line in lines)),
        file_stem=f"snb2_{''.join(c for c in province_code if c.isascii() and c.isdigit()) or 'province'}_{month.key}",
    )


def registry_status(helps: Iterable[Snb2Row]) -> bool | None:
    """One answer per person: on the registry if any help found them on it (they were on it when
    helped at least once that month); off it if every known answer says so; unknown otherwise."""
    answers = [h.on_registry for h in helps]
    if any(a is True for a in answers):
        return True
    if any(a is False for a in answers):
        return False
    return None


def _registry_notes(snapshots: Sequence[RegistrySnapshot], *, unknown: bool) -> tuple[str, ...]:
    """Which snapshot each tick was checked against, so a reader can tell a stale registry from a
    person not on it; and why a row has neither box ticked."""
    notes = [f"หมายเหตุ: ตรวจสอบกับฐานข้อมูลแรงงานนอกระบบ ข้อมูล ณ วันที่ {thai_date(s.effective_date)} "
             f"(นำเข้าเมื่อ {thai_date(s.imported_at)})" for s in snapshots]
    if unknown:
        notes.append("หมายเหตุ: รายที่ไม่ได้ทำเครื่องหมาย ยังไม่มีฐานข้อมูลแรงงานนอกระบบที่มีผล ณ วันที่ส่งต่อ")
    return tuple(notes)


def _ticks(on_registry: bool | None) -> tuple[str, str]:
    if on_registry is None:
        return "", ""
    return (TICK, "") if on_registry else ("", TICK)
