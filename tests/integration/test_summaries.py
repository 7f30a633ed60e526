"""Summaries on SQLite and PostgreSQL, from facts written straight into the reporting tables:
every breakdown, the fiscal-year boundary in Thai time, masked IDs, and the HTTP routes."""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from reporting.forms import FiscalYear, Month
from reporting.models import TABLES, IntakeServiceFact, ReferralFact, ReportPerson
from reporting.projection import month_of
from reporting.summaries import Period, summary
from reporting.summaries_api import summaries_router
from shared.catalog.outcomes import load_outcomes
from shared.db import create_tables, make_engine, session_factory
from tests.support.report_reading import guarded_app
from tests.support.tokens import LocalIssuer
from tests.support.sealing import MASTER_KEYS, report_person

pytestmark = pytest.mark.integration
BANGKOK = ZoneInfo("Asia/Bangkok")
PEOPLE = {  # person_ref: (name, national ID)
    "A": ("สมชาย ใจดี", "3640600012345"),
    "B": ("สมหญิง รักงาน", "1640100098765"),
    "C": ("มานะ อดทน", "5640100011112"),
    "D": ("ปิติ ยินดี", "3640600022223"),
    "F": ("ชูใจ ต่างถิ่น", "3650100033334"),
}
SEP_30_2330 = datetime(2026, 9, 30, 16, 30, tzinfo=UTC)  # 23:30 in Bangkok: still FY2569
OCT_1_0030 = datetime(2026, 9, 30, 17, 30, tzinfo=UTC)  # 00:30 on 1 Oct in Bangkok: FY2570


def referral(rid: str, person: str, *, district: str = "6406", month: str = "2026-11",
             agency: str | None = "employment", category: str | None = "promote", status: str = "assigned",
             source: str = "rehab_center", worker: str = "informal", outcome: str | None = None,
             has_intake: bool = True, province: str = "64", received_at: datetime | None = None) -> ReferralFact:
    return ReferralFact(
        referral_id=rid, intake_id=f"i-{person}-{month}", need_code="need", agency=agency, category=category,
        status=status, outcome_code=outcome, has_intake=has_intake, province_code=province, district_code=district,
        subdistrict_code=f"{district}01", org_unit=district, source_program=source, worker_type=worker,
        person_ref=person, intake_received_at=received_at, intake_month=month_of(received_at, zone=BANGKOK)
        if received_at else month,
    )


def facts() -> list:
    """Fresh rows for each database: an instance added to one session belongs to it."""
    return [*referrals(), *services()]


def referrals() -> list[ReferralFact]:
    return [
        # November 2026, province 64: five helps for three people.
        referral("rA1", "A", agency="employment", category="protect", status="completed", outcome="guidance_given"),
        referral("rA2", "A", agency="skills", category="develop", status="received"),
        referral("rB1", "B", district="6401", agency="welfare", category="protect", status="in_progress",
                 source="tpmap", worker="elderly"),
        referral("rB2", "B", district="6401", agency="social_security", category="protect", status="cancelled"),
        referral("rC1", "C", district="6401", agency="social_security", category="protect", status="transferred",
                 source="walk_in", worker="disabled"),
        referral("rC2", "C", district="6401", agency="employment", category="promote", source="walk_in",
                 worker="disabled"),
        referral("rD1", "D", agency=None, status="unroutable"),
        referral("rE1", "D", has_intake=False),  # the intake has not arrived: where and when are unknown
        referral("rF1", "F", province="65", district="6501", status="completed"),
        # Around the fiscal year's edges.
        referral("rD2", "D", received_at=SEP_30_2330),
        referral("rD3", "D", received_at=OCT_1_0030),
        referral("rD4", "D", month="2027-09"),
        referral("rD5", "D", month="2027-10"),
    ]


def services() -> list[IntakeServiceFact]:
    return [
        IntakeServiceFact(intake_id="i-A-2026-11", need_code="drug_prevention_outreach", category="prevent",
                          province_code="64", district_code="6406", org_unit="6406", source_program="rehab_center",
                          worker_type="informal", person_ref="A", intake_month="2026-11"),
    ]


@pytest.fixture
async def sessions(database_url):
    engine = make_engine(database_url("reporting"))
    await create_tables(engine, TABLES)
    factory = session_factory(engine)
    async with factory() as session:
        session.add_all(facts())
        session.add_all([row for ref, (name, nid) in PEOPLE.items()
                         for row in report_person(ref, full_name=name, national_id=nid)])
        await session.commit()
    yield factory
    await engine.dispose()


def table(rows: list[dict]) -> dict[str, tuple[int, int]]:
    return {row["code"]: (row["helps"], row["people"]) for row in rows}


async def test_every_breakdown_of_a_month(sessions):
    async with sessions() as session:
        data = await summary(session, province="64", period=Period.of_month(Month(2026, 11)), zone=BANGKOK,
                             outcomes=load_outcomes())
        unit = await summary(session, province="64", period=Period.of_month(Month(2026, 11)), zone=BANGKOK,
                             org_unit="6406", outcomes=load_outcomes())

    assert data["totals"] == {"helps": 5, "referrals": 4, "services_at_intake": 1, "people": 3}
    # rA1 was asked for as 'protect' but completed with an employment outcome: counted as the forms print it.
    assert table(data["by_category"]) == {"promote": (2, 2), "protect": (1, 1), "develop": (1, 1), "prevent": (1, 1)}
    assert table(data["by_agency"]) == {"employment": (2, 2), "skills": (1, 1), "welfare": (1, 1),
                                        "social_security": (0, 0), "at_intake": (1, 1)}
    assert [(r["code"], r["label_th"], r["helps"], r["people"]) for r in data["by_district"]] == [
        ("6401", "เมืองสุโขทัย", 2, 2), ("6406", "ศรีสำโรง", 3, 1)]
    assert table(data["by_worker_type"]) == {"informal": (3, 1), "elderly": (1, 1), "disabled": (1, 1),
                                             "formal": (0, 0)}
    assert table(data["by_source_program"]) == {"rehab_center": (3, 1), "ci_center": (0, 0), "tpmap": (1, 1),
                                                "informal_labour_unit": (0, 0), "walk_in": (1, 1)}
    assert {k: v for k, v in table(data["by_status"]).items() if v != (0, 0)} == {
        "assigned": (1, 1), "received": (1, 1), "in_progress": (1, 1), "completed": (1, 1), "at_intake": (1, 1)}
    assert table(data["by_month"]) == {"2026-11": (5, 3)}
    assert data["period"]["label_th"] == "พฤศจิกายน พ.ศ. 2569"
    assert data["people"] is None
    assert unit["totals"] == {"helps": 3, "referrals": 2, "services_at_intake": 1, "people": 1}
    assert [r["code"] for r in unit["by_district"]] == ["6406"]


async def test_fiscal_year_runs_from_1_october_to_30_september_in_thai_time(sessions):
    async with sessions() as session:
        fy2570 = await summary(session, province="64", period=Period.of_fiscal_year(FiscalYear(2570)), zone=BANGKOK)
        fy2569 = await summary(session, province="64", period=Period.of_fiscal_year(FiscalYear(2569)), zone=BANGKOK)

    months = table(fy2570["by_month"])
    assert list(months) == [f"2026-{m}" for m in ("10", "11", "12")] + [f"2027-{m:02d}" for m in range(1, 10)]
    assert months["2026-10"] == (1, 1)  # 1 Oct 00:30 in Bangkok, though still 30 Sep in UTC
    assert months["2027-09"] == (1, 1)  # the last month is in; October 2027 is FY2571
    assert sum(h for h, _ in months.values()) == fy2570["totals"]["helps"] == 7
    assert fy2570["totals"]["people"] == 4
    assert fy2570["period"]["label_th"] == "ปีงบประมาณ พ.ศ. 2570"
    assert (fy2570["period"]["first_day"], fy2570["period"]["last_day"]) == ("2026-10-01", "2027-09-30")
    assert table(fy2569["by_month"])["2026-09"] == (1, 1)  # 30 Sep 23:30 in Bangkok
    assert fy2569["totals"] == {"helps": 1, "referrals": 1, "services_at_intake": 0, "people": 1}
    # Without an outcome catalog, rA1 counts under the category it was referred for.
    assert table(fy2570["by_category"])["protect"] == (2, 2)


async def test_routes_answer_json_and_a_printable_page_with_ids_masked(sessions):
    issuer = LocalIssuer()
    app = guarded_app(summaries_router(sessions=sessions, zone=BANGKOK, outcomes=load_outcomes(),
                                       master_keys=MASTER_KEYS), issuer=issuer)
    office = issuer.headers("provincial_office", provinces=("64",))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers=office) as client:
        as_json = await client.get("/v1/reports/summary", params={"province": "64", "month": "2026-11", "people": "50"})
        page = await client.get("/v1/reports/summary.html", params={"province": "64", "fiscal_year": "2570"})
        short = await client.get("/v1/reports/summary", params={"province": "64", "fiscal_year": "2570", "people": "2"})
        refused = await client.get("/v1/reports/summary", params={"province": "64", "month": "2569-11"})
        # Province 65 has a person helped in November; Sukhothai's office is told there is no such
        # report, in the same words as a province with nothing (Chachoengsao, 24).
        other = {"month": "2026-11", "people": "50"}
        hidden = await client.get("/v1/reports/summary", params={"province": "65", **other})
        hidden_page = await client.get("/v1/reports/summary.html", params={"province": "65", **other})
        empty = await client.get("/v1/reports/summary", params={"province": "24", **other})
        national = await client.get("/v1/reports/summary", params={"province": "65", **other},
                                    headers=issuer.headers("national"))
        clerk = await client.get("/v1/reports/summary", params={"province": "64", **other},
                                 headers=issuer.headers("intake_clerk", org_units=("6406",)))

    assert (hidden.status_code, hidden.json()) == (404, {"detail": "No report for province 65"})
    assert (empty.status_code, empty.json()) == (404, {"detail": "No report for province 24"})
    assert hidden_page.status_code == 404 and "ต่างถิ่น" not in hidden_page.text
    assert national.status_code == 200 and national.json()["people"]["total"] == 1
    assert clerk.status_code == 403

    assert as_json.status_code == 200, as_json.text
    people = as_json.json()["people"]
    assert [(p["full_name"], p["national_id_masked"], p["helps"]) for p in people["listed"]] == [
        ("มานะ อดทน", "5-6401-0xxxx-xx-2", 1), ("สมชาย ใจดี", "3-6406-0xxxx-xx-5", 3),
        ("สมหญิง รักงาน", "1-6401-0xxxx-xx-5", 1)]
    assert (people["total"], people["truncated"]) == (3, False)
    assert (len(short.json()["people"]["listed"]), short.json()["people"]["truncated"]) == (2, True)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "ปีงบประมาณ พ.ศ. 2570" in html and "@media print" in html and "ศรีสำโรง" in html
    assert "3-6406-0xxxx-xx-5" in html and "(เวลาประเทศไทย)" in html
    for body in (as_json.text, page.text, short.text):
        assert not re.search(r"\d{13}", body)
        assert not any(nid in body for _, nid in PEOPLE.values())
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "month" and "2569" in refused.json()["errors"][0]["reason"]
