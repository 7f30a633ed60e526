"""Every Thai word the forms print for a code: worker types, assistance categories, the
assistance itself (from the need and outcome catalogs), SNB-2's plan. One place, so a
wording change is one edit and the forms and summaries never disagree.

The catalogs are passed in, not loaded here: the service loads them once at start-up, and these
functions stay pure.
"""

from collections.abc import Mapping
from types import MappingProxyType

from shared.catalog import NeedCatalog
from shared.catalog.outcomes import OutcomeCatalog

# The paper forms' own words (seed 004, แบบ สป-12 / สนบ.2: "แรงงานนอกระบบ/แรงงานสูงอายุ/แรงงานคนพิการ").
# The forms have no word for a formal worker; แรงงานในระบบ is what the intake sheet accepts.
WORKER_TYPE_TH: Mapping[str, str] = MappingProxyType({
    "informal": "แรงงานนอกระบบ",
    "elderly": "แรงงานสูงอายุ",
    "disabled": "แรงงานคนพิการ",
    "formal": "แรงงานในระบบ",
})

# The four kinds of help the forms' footnotes define, in the forms' order.
CATEGORY_TH: Mapping[str, str] = MappingProxyType({
    "promote": "ส่งเสริม",
    "protect": "คุ้มครอง",
    "develop": "พัฒนา",
    "prevent": "ระวังภัย",
})

# SNB-2's first column, ชื่อแผนงาน/โครงการ/กิจกรรม, names the plan a person was helped under.
# Every row names the one action plan the whole form reports on (its title: "ภายใต้แผนปฏิบัติการ
# ส่งเสริม คุ้มครอง และการพัฒนาแรงงานนอกระบบฯ"; seed 004 §4.4.3: the office reports its help "ตาม
# แผนปฏิบัติการ ส่งเสริม คุ้มครองและการพัฒนาแรงงานนอกระบบฯ"). It used to name each source
# programme's project and give rehabilitation and CI centres this neutral name, which then marked
# exactly those people (PDPA s.26). It is not derived from anything else either: Songtor does not
# know which of an office's yearly projects paid for a help, and the help's category already opens
# the assistance column. The same words on every row cannot single anybody out; an office that
# files under a named project can still write it into its copy.
ACTION_PLAN_TH = "แผนปฏิบัติการส่งเสริม คุ้มครอง และพัฒนาแรงงานนอกระบบ"

NOT_GIVEN_TH = "ไม่ระบุ"


def worker_type_label(code: str | None) -> str:
    """Thai label of a worker type code; an unknown code is printed as it is rather than
    hidden, so a clerk sees that something needs fixing."""
    if not code:
        return NOT_GIVEN_TH
    return WORKER_TYPE_TH.get(code, code)


def category_label(code: str | None) -> str:
    if not code:
        return NOT_GIVEN_TH
    return CATEGORY_TH.get(code, code)


def assistance_label(
    *,
    need_code: str,
    needs: NeedCatalog,
    category: str | None = None,
    agency: str | None = None,
    outcome_code: str | None = None,
    outcomes: OutcomeCatalog | None = None,
) -> str:
    """One help as the form's 'type of assistance' cell reads:
    'คุ้มครอง: สมัครผู้ประกันตนมาตรา 40 (ผล: สมัครเป็นผู้ประกันตนมาตรา 40 แล้ว)'.

    The category word comes first because the forms' footnotes define the column by those four
    words; the need says what was asked for; an outcome, when the agency recorded one, says what
    was done. A completed referral counts under its outcome's category (it may differ from the
    need's); otherwise under `category` (the fact's) or else the need's. A code the catalog no
    longer knows (routed by hand at triage) is printed as the code.
    """
    definition = needs.get(need_code)
    outcome = None
    if outcome_code and agency and outcomes is not None:
        outcome = outcomes.outcomes.get((agency, outcome_code))
    chosen = (outcome.category if outcome else None) or category or (definition.category if definition else None)
    text = definition.label_th if definition else need_code
    if chosen:
        # A need label that already ends in its category ("… (ระวังภัย)") would say it twice.
        text = text.removesuffix(f" ({category_label(chosen)})")
        text = f"{category_label(chosen)}: {text}"
    if outcome is not None:
        text = f"{text} (ผล: {outcome.label_th})"
    elif outcome_code:
        text = f"{text} (ผล: {outcome_code})"
    return text
