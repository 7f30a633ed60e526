"""Thai and English words for what the summaries group by. Category and worker type come from
reporting.forms.labels, so the forms and the summaries never word them differently; agencies,
source programmes and statuses are printed only by the summaries, so they live here.

Each table lists its codes in the order the summary prints them: a fixed order, with every code
present even at 0, keeps a printed page comparable with last month's.
"""

from collections.abc import Mapping
from types import MappingProxyType

from reporting.forms.labels import CATEGORY_TH, WORKER_TYPE_TH

# Services delivered at intake (drug-prevention outreach) have no agency and no lifecycle: one key
# stands for them in the agency and status breakdowns.
AT_INTAKE = "at_intake"
UNASSIGNED = "unassigned"

Words = Mapping[str, tuple[str, str]]


def _words(table: dict[str, tuple[str, str]]) -> Words:
    return MappingProxyType(table)


CATEGORY: Words = _words({
    "promote": (CATEGORY_TH["promote"], "Promote"),
    "protect": (CATEGORY_TH["protect"], "Protect"),
    "develop": (CATEGORY_TH["develop"], "Develop"),
    "prevent": (CATEGORY_TH["prevent"], "Prevent"),
})

AGENCY: Words = _words({
    "employment": ("กรมการจัดหางาน", "Department of Employment"),
    "skills": ("กรมพัฒนาฝีมือแรงงาน", "Department of Skill Development"),
    "welfare": ("กรมสวัสดิการและคุ้มครองแรงงาน", "Department of Labour Protection and Welfare"),
    "social_security": ("สำนักงานประกันสังคม", "Social Security Office"),
    AT_INTAKE: ("ให้บริการ ณ จุดรับเรื่อง", "Delivered at intake"),
})

WORKER_TYPE: Words = _words({
    "informal": (WORKER_TYPE_TH["informal"], "Informal worker"),
    "elderly": (WORKER_TYPE_TH["elderly"], "Elderly worker"),
    "disabled": (WORKER_TYPE_TH["disabled"], "Worker with disability"),
    "formal": (WORKER_TYPE_TH["formal"], "Formal worker"),
})

# Counts only, never next to a name: a count of people from rehabilitation centres identifies
# nobody, whereas a listed person under such a heading would (PDPA s.26).
SOURCE_PROGRAM: Words = _words({
    "rehab_center": ("ศูนย์ฟื้นฟูสภาพทางสังคม", "Social rehabilitation centre"),
    "ci_center": ("ศูนย์พักคอย (CI)", "Community isolation centre"),
    "tpmap": ("ศจพ. (TPMAP)", "Poverty-eradication centre (TPMAP)"),
    "informal_labour_unit": ("หน่วยบริการชุมชน / ศูนย์ประสานงานแรงงานนอกระบบ", "Informal labour unit"),
    "walk_in": ("ผู้มาติดต่อ ณ สำนักงาน", "Walk-in"),
})

# Cancelled, transferred and unroutable referrals are no help given (form_sources.NOT_A_HELP),
# so they never appear; "submitted" is a referral whose agency is not known yet.
STATUS: Words = _words({
    "submitted": ("รอส่งต่อ", "Submitted"),
    "assigned": ("ส่งต่อแล้ว", "Assigned"),
    "received": ("หน่วยงานรับเรื่อง", "Received"),
    "accepted": ("รับดำเนินการ", "Accepted"),
    "in_progress": ("กำลังดำเนินการ", "In progress"),
    "completed": ("ดำเนินการแล้วเสร็จ", "Completed"),
    "declined": ("ปฏิเสธ", "Declined"),
    "unreachable": ("ติดต่อไม่ได้", "Unreachable"),
    AT_INTAKE: ("ให้บริการ ณ จุดรับเรื่อง", "Delivered at intake"),
})

NOT_GIVEN = ("ไม่ระบุ", "Not given")


def words(table: Words, code: str) -> tuple[str, str]:
    """(Thai, English); an unknown code is shown as itself so a reader sees something to fix."""
    if code == UNASSIGNED:
        return NOT_GIVEN
    return table.get(code, (code, code))
