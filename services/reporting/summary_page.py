"""The summary as one printable HTML page: no framework and no external files, so it prints
and saves the same from any office browser, online or not. Pure: the data in, text out.

Everything printed goes through html.escape: names come from clerks' sheets.
"""

from datetime import date
from html import escape

from reporting.forms import thai_date

_STYLE = """
body { font-family: "TH Sarabun New", "Sarabun", "Noto Sans Thai", Tahoma, sans-serif; margin: 2rem; color: #111; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; } h2 { font-size: 1.15rem; margin: 1.5rem 0 .4rem; }
.en { color: #555; font-size: .85em; } .meta { margin: .2rem 0; }
table { border-collapse: collapse; width: 100%; margin-bottom: .5rem; }
th, td { border: 1px solid #999; padding: .25rem .5rem; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { font-weight: bold; } thead th { background: #eee; }
.totals td { font-size: 1.1rem; }
@media print {
  @page { size: A4; margin: 15mm; }
  body { margin: 0; font-size: 11pt; }
  .noprint { display: none; }
  thead { display: table-header-group; }
  tr, h2 { page-break-inside: avoid; } h2 { page-break-after: avoid; }
  thead th { background: none; }
}
"""

# (key, Thai heading, English heading, first column heading Thai / English)
_BREAKDOWNS = (
    ("by_category", "จำแนกตามประเภทการช่วยเหลือ", "By category", "ประเภท", "Category"),
    ("by_agency", "จำแนกตามหน่วยงาน", "By agency", "หน่วยงาน", "Agency"),
    ("by_district", "จำแนกตามอำเภอ", "By district", "อำเภอ", "District"),
    ("by_worker_type", "จำแนกตามประเภทแรงงาน", "By worker type", "ประเภทแรงงาน", "Worker type"),
    ("by_source_program", "จำแนกตามโครงการต้นทาง", "By source programme", "โครงการต้นทาง", "Source programme"),
    ("by_status", "จำแนกตามสถานะ", "By status", "สถานะ", "Status"),
    ("by_month", "จำแนกตามเดือน", "By month", "เดือน", "Month"),
)


def _both(thai: str, english: str) -> str:
    return f'{escape(thai)} <span class="en">{escape(english)}</span>'


def _number(value: int) -> str:
    return f'<td class="n">{value:,}</td>'


def _head(first_th: str, first_en: str) -> str:
    return (f"<thead><tr><th>{_both(first_th, first_en)}</th>"
            f'<th class="n">{_both("จำนวนครั้ง", "Helps")}</th>'
            f'<th class="n">{_both("จำนวนคน", "People")}</th></tr></thead>')


def _breakdown(rows: list[dict], *, key: str, title_th: str, title_en: str, first_th: str, first_en: str) -> str:
    def code(row: dict) -> str:
        # A month's label already is its code; other codes help match the JSON and the forms.
        return "" if key == "by_month" else f' <span class="en">({escape(row["code"])})</span>'

    body = "".join(
        f"<tr><td>{_both(row['label_th'], row['label_en'])}{code(row)}</td>"
        f"{_number(row['helps'])}{_number(row['people'])}</tr>"
        for row in rows
    )
    helps = sum(row["helps"] for row in rows)
    # People are not summed: one person helped in two districts is one person, not two.
    return (f'<section id="{key}"><h2>{_both(title_th, title_en)}</h2><table>{_head(first_th, first_en)}'
            f"<tbody>{body}</tbody><tfoot><tr><td>{_both('รวม', 'Total')}</td>{_number(helps)}<td></td></tr>"
            f"</tfoot></table></section>")


def _people(people: dict | None) -> str:
    if not people:
        return ""
    rows = "".join(
        f"<tr><td class=n>{number}</td><td>{escape(person['full_name'])}</td>"
        f"<td><code>{escape(person['national_id_masked'] or '')}</code></td>{_number(person['helps'])}</tr>"
        for number, person in enumerate(people["listed"], start=1)
    )
    more = ""
    if people["truncated"]:
        shown, total = len(people["listed"]), people["total"]
        more = f"<p>{_both(f'แสดง {shown:,} คนแรกจาก {total:,} คน', f'First {shown:,} of {total:,} people shown')}</p>"
    return (f'<section id="people"><h2>{_both("รายชื่อผู้ได้รับความช่วยเหลือ", "People helped")}</h2>'
            f"<p class=meta>{_both('เลขประจำตัวประชาชนถูกปิดบังบางส่วน', 'National IDs are masked')}</p>"
            f"<table><thead><tr><th class=n>{_both('ลำดับ', 'No.')}</th><th>{_both('ชื่อ-นามสกุล', 'Name')}</th>"
            f"<th>{_both('เลขประจำตัวประชาชน', 'National ID')}</th><th class=n>{_both('จำนวนครั้ง', 'Helps')}</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>{more}</section>")


def render_summary_page(data: dict) -> str:
    """The page for one summary (the dict summaries.summary returns)."""
    period = data["period"]
    place_th = f"จังหวัด{data['province_name_th'] or data['province']}"
    place_en = f"{data['province_name_en'] or data['province']} province"
    if data["org_unit"]:
        place_th += f" หน่วยงาน {data['org_unit']}"
        place_en += f", org unit {data['org_unit']}"
    when_th = period["label_th"] if period["kind"] == "fiscal_year" else f"ประจำเดือน{period['label_th']}"
    title_th = f"สรุปผลการช่วยเหลือแรงงาน {place_th} {when_th}"
    title_en = f"Summary of help given: {place_en}, {period['label_en']}"
    totals = data["totals"]
    generated = data["generated_at"]
    sections = "".join(
        _breakdown(data[key], key=key, title_th=t_th, title_en=t_en, first_th=f_th, first_en=f_en)
        for key, t_th, t_en, f_th, f_en in _BREAKDOWNS
    )
    return f"""<!doctype html>
<html lang="th"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title_th)}</title><style>{_STYLE}</style></head>
<body>
<header>
<h1>{escape(title_th)}</h1>
<p class="meta en">{escape(title_en)}</p>
<p class="meta">{_both(f"ช่วงเวลา {_thai_day(period['first_day'])} – {_thai_day(period['last_day'])}",
                       f"Period {period['first_day']} to {period['last_day']}")}</p>
<p class="meta">{_both(f"จัดทำเมื่อ {generated.replace('T', ' ')} (เวลาประเทศไทย)",
                       f"Generated {generated} ({data['timezone']})")}</p>
<p class="meta">{_both("นับตามเดือนที่รับเรื่อง ไม่นับรายการที่ยกเลิก ส่งต่อหน่วยงานอื่น หรือส่งต่อไม่ได้",
                       "Counted by the month the intake was received; cancelled, transferred and unroutable "
                       "referrals are not counted")}</p>
<p class="noprint"><button onclick="window.print()">พิมพ์ / Print</button></p>
</header>
<section id="totals"><h2>{_both("ภาพรวม", "Totals")}</h2><table class="totals"><tbody>
<tr><td>{_both("การช่วยเหลือทั้งหมด", "All helps")}</td>{_number(totals["helps"])}</tr>
<tr><td>{_both("ส่งต่อหน่วยงาน", "Referrals")}</td>{_number(totals["referrals"])}</tr>
<tr><td>{_both("ให้บริการ ณ จุดรับเรื่อง", "Services at intake")}</td>{_number(totals["services_at_intake"])}</tr>
<tr><td>{_both("จำนวนคน", "People")}</td>{_number(totals["people"])}</tr>
</tbody></table></section>
{sections}
{_people(data.get("people"))}
</body></html>
"""


def _thai_day(iso_day: str) -> str:
    return thai_date(date.fromisoformat(iso_day))


def render_not_found_page(message: str) -> str:
    """A summary the reader may not see reads like one that does not exist."""
    return (f"<!doctype html><html lang=th><head><meta charset=utf-8><title>ไม่พบรายงาน</title>"
            f"<style>{_STYLE}</style></head><body><h1>{_both('ไม่พบรายงาน', message)}</h1></body></html>")


def render_refusal_page(errors: list[dict]) -> str:
    """What a person who typed a wrong address sees: the same field, value and reasons as the JSON."""
    items = "".join(
        f"<li><b>{escape(e['field'])}</b> = <code>{escape(str(e['value']))}</code>: "
        f"{escape(e.get('reason_th', ''))} <span class=en>{escape(e['reason'])}</span></li>"
        for e in errors
    )
    return (f"<!doctype html><html lang=th><head><meta charset=utf-8><title>ไม่สามารถสร้างรายงาน</title>"
            f"<style>{_STYLE}</style></head><body><h1>{_both('ไม่สามารถสร้างรายงานได้', 'The summary cannot be made')}"
            f"</h1><ul>{items}</ul></body></html>")
