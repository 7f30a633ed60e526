"""Words saying that a person uses drugs or came from a drug-rehabilitation or CI centre.

That is health (and possibly criminal-record) data under PDPA s.26, and exactly what the source
programme is kept from the agencies for. Text that reaches an agency must not carry it, or the
agency would learn it anyway: a need the catalog refers (its code and labels) and a province
override's reason (shown in routing's explanation), a clerk's note on a referred need, and the
provincial office's reasons for a triage, a cancellation or a transfer.

A list of words catches the usual ways of writing it, not every one: it is a net under the
clerks' instructions (docs/clerks.md), not a proof. Matches are kept narrow (กายภาพบำบัด,
บำบัดน้ำเสีย, ฟื้นฟูอาชีพ and ห้องพักคอย pass) so that ordinary notes are not refused.
"""

import re

_THAI = (
    r"ยาเสพติด", r"สารเสพติด", r"เสพยา", r"ผู้เสพ", r"ติดยา(?![กง])", r"ยาบ้า(?!น)", r"ยาไอซ์", r"เฮโรอีน",
    r"(?<!กายภาพ)บำบัด(?!น้ำ)", r"ฟื้นฟูสภาพ", r"ศูนย์ฟื้นฟู", r"ศูนย์พักคอย", r"ศูนย์\s*CI\b",
    r"ป\.?\s?ป\.?\s?ส", r"ศป\.?\s?ปส", r"คุมประพฤติ",
)
_ENGLISH = (
    r"\bdrugs?\b", r"\brehab", r"\bnarcotic", r"\baddict", r"\bmethamphetamine", r"\byaba\b", r"\bheroin\b",
    r"\bdetox", r"\bcommunity isolation\b", r"\bCI (?:centre|center)s?\b", r"\bONCB\b", r"\bprobation",
)
_PATTERN = re.compile("|".join((*_THAI, *_ENGLISH)), re.IGNORECASE)

REASON = ("it says that the person uses drugs or came from a rehabilitation or CI centre ({words}), which the "
          "agency must not learn (PDPA section 26)")
REASON_TH = ("มีข้อความที่บอกว่าบุคคลนี้เกี่ยวข้องกับยาเสพติดหรือมาจากศูนย์ฟื้นฟูฯ/ศูนย์พักคอย ({words}) ซึ่งหน่วยงานต้องไม่ทราบ "
             "(พ.ร.บ.คุ้มครองข้อมูลส่วนบุคคล มาตรา 26)")


def drug_programme_words(text: str | None) -> list[str]:
    """The words of `text` that tell drug use or a drug programme, each once, in order; [] if none.
    Underscores count as spaces, so that a code such as `drug_test` is read as words."""
    if not text:
        return []
    return list(dict.fromkeys(match.group(0) for match in _PATTERN.finditer(text.replace("_", " "))))


def quoted(words: list[str]) -> str:
    return ", ".join(f"'{word}'" for word in words)
