"""Summaries without a database: masking, periods, the printable page, and the 422 refusals."""

import re
from zoneinfo import ZoneInfo

import httpx
import pytest

from reporting.forms import FiscalYear, Month
from reporting.summaries import Period, mask_national_id
from reporting.summaries_api import read_request, summaries_router
from reporting.summary_page import render_not_found_page, render_refusal_page, render_summary_page
from tests.support.report_reading import guarded_app
from tests.support.tokens import LocalIssuer
from tests.support.sealing import MASTER_KEYS


def masked(national_id: str) -> str:
    return mask_national_id(head=national_id[:6], check_digit=national_id[12:13], length=len(national_id))


def test_a_national_id_keeps_its_first_six_digits_and_check_digit():
    assert masked("3640100456781") == "3-6401-0xxxx-xx-1"
    assert masked("364010045678") == "x-xxxx-xxxxx-xx-x"  # 12 digits: not an ID, masked whole
    assert masked("36401a0456781") == "x-xxxx-xxxxx-xx-x"
    assert mask_national_id(head=None, check_digit=None, length=None) == "x-xxxx-xxxxx-xx-x"


def test_periods_are_labelled_in_the_buddhist_era():
    month = Period.of_month(Month(2026, 11)).as_json()
    assert (month["label_th"], month["label_en"]) == ("พฤศจิกายน พ.ศ. 2569", "November 2026")
    assert month["months"] == ["2026-11"]
    year = Period.of_fiscal_year(FiscalYear(2570)).as_json()
    assert year["label_th"] == "ปีงบประมาณ พ.ศ. 2570"
    assert (year["first_day"], year["last_day"]) == ("2026-10-01", "2027-09-30")
    assert year["months"][0] == "2026-10" and year["months"][-1] == "2027-09" and len(year["months"]) == 12


def ask(**params: str | None) -> list[dict]:
    args = {"province": "64", "month": None, "fiscal_year": None, "org_unit": None, "people": None} | params
    return read_request(**args, default_people=0)[2]  # type: ignore[arg-type]


@pytest.mark.parametrize(("params", "field", "value", "says"), [
    ({"province": "99", "month": "2026-11"}, "province", "99", "province code"),
    ({}, "fiscal_year", None, "exactly one"),
    ({"month": "2026-11", "fiscal_year": "2570"}, "month", "2026-11", "exactly one"),
    ({"month": "2569-11"}, "month", "2569-11", "Buddhist Era"),
    ({"month": "2026-13"}, "month", "2026-13", "01-12"),
    ({"fiscal_year": "2026"}, "fiscal_year", "2026", "Christian Era"),
    ({"fiscal_year": "๒๕๗๐"}, "fiscal_year", "๒๕๗๐", "Buddhist Era year"),
    ({"month": "2026-11", "org_unit": "6501"}, "org_unit", "6501", "province 64"),
    ({"month": "2026-11", "people": "-1"}, "people", "-1", "0-1000"),
])
def test_refusals_name_the_field_the_value_and_the_reason_in_both_languages(params, field, value, says):
    errors = ask(**params)
    assert len(errors) == 1, errors
    assert (errors[0]["field"], errors[0]["value"]) == (field, value)
    assert says in errors[0]["reason"] and errors[0]["reason_th"]


async def test_routes_answer_422_in_json_and_in_html_before_touching_the_database():
    issuer = LocalIssuer()
    app = guarded_app(summaries_router(sessions=None, zone=ZoneInfo("Asia/Bangkok"),  # type: ignore[arg-type]
                                       master_keys=MASTER_KEYS),
                      issuer=issuer)
    office = issuer.headers("provincial_office", provinces=("64",))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        as_json = await client.get("/v1/reports/summary", params={"province": "x", "fiscal_year": "2026"},
                                   headers=office)
        page = await client.get("/v1/reports/summary.html", params={"province": "64", "month": "11/2026"},
                                headers=office)
        # Another province's summary is "not found", before any database is read (there is none).
        elsewhere = await client.get("/v1/reports/summary", params={"province": "24", "month": "2026-11"},
                                     headers=office)
        elsewhere_page = await client.get("/v1/reports/summary.html", params={"province": "24", "month": "2026-11"},
                                          headers=office)
        no_token = await client.get("/v1/reports/summary", params={"province": "64", "month": "2026-11"})
        signed_out_page = await client.get("/v1/reports/summary.html", params={"province": "64", "month": "2026-11"})
        ops = await client.get("/v1/reports/summary", params={"province": "64", "month": "2026-11"},
                               headers=issuer.headers("ops"))
    assert as_json.status_code == 422
    assert [e["field"] for e in as_json.json()["errors"]] == ["province", "fiscal_year"]
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert "11/2026" in page.text and "month" in page.text
    assert (elsewhere.status_code, elsewhere.json()) == (404, {"detail": "No report for province 24"})
    assert elsewhere_page.status_code == 404 and "text/html" in elsewhere_page.headers["content-type"]
    assert "No report for province 24" in elsewhere_page.text and "ไม่พบรายงาน" in elsewhere_page.text
    assert no_token.status_code == 401 and no_token.headers["www-authenticate"].startswith("Bearer")
    assert signed_out_page.status_code == 303
    assert signed_out_page.headers["location"] == (
        "/auth/login?next=%2Fv1%2Freports%2Fsummary.html%3Fprovince%3D64%26month%3D2026-11")
    assert ops.status_code == 403


def test_the_page_escapes_what_clerks_typed_and_carries_a_print_stylesheet():
    rows = [{"code": "x", "label_th": "ท", "label_en": "e", "helps": 1, "people": 1}]
    data = {
        "province": "64", "province_name_th": "สุโขทัย", "province_name_en": "Sukhothai", "org_unit": None,
        "period": Period.of_fiscal_year(FiscalYear(2570)).as_json(), "timezone": "Asia/Bangkok",
        "generated_at": "2026-11-25T09:00:00+07:00",
        "totals": {"helps": 1, "referrals": 1, "services_at_intake": 0, "people": 1},
        **{key: rows for key in ("by_category", "by_agency", "by_district", "by_worker_type", "by_source_program",
                                 "by_status", "by_month")},
        "people": {"listed": [{"full_name": "<script>x</script>", "national_id_masked": "3-6401-0xxxx-xx-1",
                               "helps": 1}], "total": 5, "truncated": True},
    }
    page = render_summary_page(data)
    assert "<script>x" not in page and "&lt;script&gt;" in page
    assert "สรุปผลการช่วยเหลือแรงงาน จังหวัดสุโขทัย ปีงบประมาณ พ.ศ. 2570" in page
    assert "@media print" in page and "1 ตุลาคม พ.ศ. 2569" in page and "แสดง 1 คนแรกจาก 5 คน" in page
    assert not re.search(r"\d{13}", page)
    assert "&lt;b&gt;" in render_refusal_page([{"field": "month", "value": "<b>", "reason": "r", "reason_th": "ร"}])
    assert "&lt;i&gt;" in render_not_found_page("No report for province <i>")
