"""Form สป-12 (SP-12): the people one reporting unit helped in one month, due on the 25th.

Wording from the paper form (seed 004, ภาพที่ ๒): "แบบรายงานผลการช่วยเหลือแรงงานนอกระบบ
แรงงานสูงอายุ และแรงงานคนพิการ ของศูนย์ประสานงานแรงงานนอกระบบจังหวัด..... (ภาคประชาชน)
ประจำเดือน..... จำนวน.....คน", columns ลำดับที่ / ชื่อ-สกุล ผู้ที่ได้รับการช่วยเหลือ /
เลขบัตรประชาชน ๑๓ หลัก / ประเภทการช่วยเหลือ/ การให้บริการ / ประเภทของแรงงาน. Digits are
written in Arabic numerals, as the rest of the system and the clerks' spreadsheets do.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from reporting.forms.table import FormTable, by_person, check_person, person_key, count_line, joined
from reporting.forms.thai_calendar import Month

FORM_NAME = "แบบ สป-12"
FORM_TITLE = "แบบรายงานผลการช่วยเหลือแรงงานนอกระบบ แรงงานสูงอายุ และแรงงานคนพิการ"
HEADER = (
    "ลำดับที่",
    "ชื่อ-สกุล ผู้ที่ได้รับการช่วยเหลือ",
    "เลขบัตรประชาชน 13 หลัก",
    "ประเภทการช่วยเหลือ/การให้บริการ",
    "ประเภทของแรงงาน (แรงงานนอกระบบ/แรงงานสูงอายุ/แรงงานคนพิการ)",
)
_WIDTHS = (9.0, 32.0, 20.0, 60.0, 26.0)
_ID_COLUMN = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Sp12Row:
    """One help given to one person (one referral or one service at intake). The form merges a
    person's helps into one line; labels come from `reporting.forms.labels`."""

    full_name: str
    national_id: str  # "" for an erased person
    assistance: str
    worker_type: str

    erased_ref: str | None = None  # the person_ref of a person whose personal data was erased

    def __post_init__(self) -> None:
        check_person(national_id=self.national_id, erased_ref=self.erased_ref)


def sp12_form(
    *,
    org_unit: str,
    org_unit_name: str,
    province_name: str,
    month: Month,
    rows: Iterable[Sp12Row],
    generated_at: datetime,
) -> FormTable:
    """SP-12 of one org unit for one month. `org_unit_name` is the unit as people call it
    ("หน่วยบริการชุมชนแรงงานนอกระบบ บ้านคลองนิยม"); `province_name` without the word จังหวัด."""
    people = by_person(rows, national_id=lambda r: person_key(national_id=r.national_id, erased_ref=r.erased_ref),
                       name=lambda r: r.full_name)
    lines = tuple(
        (
            number,
            joined(r.full_name for r in helps),
            helps[0].national_id,
            joined(r.assistance for r in helps),
            joined(r.worker_type for r in helps),
        )
        for number, helps in enumerate(people, start=1)
    )
    unit = f"หน่วยงาน {org_unit_name} (รหัส {org_unit})" if org_unit_name else f"หน่วยงาน รหัส {org_unit}"
    return FormTable(
        form="sp12",
        sheet_name="สป-12",
        title_lines=(
            FORM_NAME,
            FORM_TITLE,
            f"ของศูนย์ประสานงานแรงงานนอกระบบจังหวัด{province_name} (ภาคประชาชน)",
            unit,
            count_line(month.title_th, len(lines)),
        ),
        header_rows=(HEADER,),
        header_merges=(),
        rows=lines,
        column_widths=_WIDTHS,
        text_columns=frozenset({_ID_COLUMN}),
        person_count=len(lines),
        generated_at=generated_at,
        file_stem=f"sp12_{_ascii(org_unit)}_{month.key}",
    )


def _ascii(code: str) -> str:
    # Org unit codes are digits today; anything else is kept out of the file name.
    return "".join(c for c in code if c.isascii() and (c.isalnum() or c in "-_")) or "unit"
