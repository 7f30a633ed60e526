"""The monthly forms the offices type by hand today (SP-12, SNB-2), built from rows the caller
reads off the facts, and rendered as CSV or XLSX. Pure: no database, no clock, no files.

    form = sp12_form(org_unit="6406", org_unit_name="...", province_name="สุโขทัย",
                     month=parse_month("2026-11"), rows=[Sp12Row(...), ...],
                     generated_at=closed_at)
    body = render(form, fmt="xlsx")      # bytes; MEDIA_TYPES["xlsx"], file_name(form, fmt="xlsx")
"""

from reporting.forms.labels import (
    ACTION_PLAN_TH,
    assistance_label,
    category_label,
    worker_type_label,
)
from reporting.forms.render import (
    MEDIA_TYPES,
    file_name,
    read_csv_rows,
    read_xlsx_rows,
    render,
    render_csv,
    render_xlsx,
)
from reporting.forms.snb2 import RegistrySnapshot, Snb2Row, snb2_form
from reporting.forms.sp12 import Sp12Row, sp12_form
from reporting.forms.table import FormTable
from reporting.forms.thai_calendar import (
    FiscalYear,
    Month,
    MonthError,
    buddhist_year,
    parse_fiscal_year,
    parse_month,
    thai_date,
)

__all__ = [
    "ACTION_PLAN_TH", "RegistrySnapshot",
    "MEDIA_TYPES", "FiscalYear", "FormTable", "Month", "MonthError", "Snb2Row", "Sp12Row",
    "assistance_label", "buddhist_year", "category_label", "file_name", "parse_fiscal_year",
    "parse_month", "read_csv_rows", "read_xlsx_rows", "render", "render_csv",
    "render_xlsx", "snb2_form", "sp12_form", "thai_date", "worker_type_label",
]
