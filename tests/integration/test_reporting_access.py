"""Who reads which report, on SQLite and PostgreSQL, with real tokens (LocalIssuer): a
provincial office reads and closes the forms of its own provinces; another province's form,
filed version or completeness answers 404 in the words of one that does not exist; `national`
reads every province; ops sees completeness (codes and dates only), never the forms; the month
close records who published each version."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from reporting.api import reports_router
from reporting.closing.api import published_router
from reporting.closing.closer import MonthCloser, ReportSources
from reporting.closing.schedule import CloseSchedule
from reporting.forms import read_csv_rows
from reporting.forms_api import forms_router
from reporting.models import TABLES, ReferralFact, ReportPerson
from shared.db import create_tables, make_engine, session_factory
from shared.topics import Topics
from tests.support.report_reading import catalogs, guarded_app
from tests.support.tokens import LocalIssuer
from tests.support.sealing import MASTER_KEYS, SEALING, report_person

pytestmark = pytest.mark.integration
BANGKOK = ZoneInfo("Asia/Bangkok")
MONTH = "2025-01"  # long due: both forms of it close whenever the test runs
PEOPLE = {  # person_ref: (name, national ID, org unit)
    "ref-64": ("สมชาย ใจดี", "3640100456781", "6406"),
    "ref-24": ("มานี มีสุข", "1240100012341", "2401"),
}
OFFICE_64 = "subject-of-province-64"


def fact(ref: str) -> ReferralFact:
    org_unit = PEOPLE[ref][2]
    at = datetime(2025, 1, 10, 9, tzinfo=BANGKOK).astimezone(UTC)
    return ReferralFact(
        referral_id=f"r-{ref}", intake_id=f"i-{ref}", need_code="job_registration", agency="employment",
        category="promote", status="received", status_version=2, has_intake=True, province_code=org_unit[:2],
        district_code=org_unit, subdistrict_code=f"{org_unit}01", org_unit=org_unit, source_program="walk_in",
        worker_type="informal", person_ref=ref, intake_received_at=at, intake_month=MONTH, updated_at=at,
    )


@pytest.fixture
async def service(database_url):
    engine = make_engine(database_url("reporting"))
    await create_tables(engine, TABLES)
    sessions = session_factory(engine)
    async with sessions() as session:
        session.add_all([fact(ref) for ref in PEOPLE])
        session.add_all([row for ref, (name, nid, _unit) in PEOPLE.items()
                         for row in report_person(ref, full_name=name, national_id=nid)])
        await session.commit()
    sources = ReportSources(sessions=sessions, catalogs=catalogs(), zone=BANGKOK, sealing=SEALING)
    schedule = CloseSchedule()
    closer = MonthCloser(sources=sources, schedule=schedule, topics=Topics(prefix="t."), relay=None)
    issuer = LocalIssuer()
    app = guarded_app(reports_router(sessions=sessions, timezone="Asia/Bangkok"),
                      forms_router(sessions=sessions, catalogs=sources.catalogs, master_keys=MASTER_KEYS),
                      published_router(sources=sources, schedule=schedule, closer=closer), issuer=issuer)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client, issuer, closer
    await engine.dispose()


def as_office(issuer: LocalIssuer, province: str, subject: str = "office") -> dict[str, str]:
    return {"Authorization": f"Bearer {issuer.mint(subject, roles=('provincial_office',), provinces=(province,))}"}


def people_in(csv: bytes) -> set[str]:
    return {cell for row in read_csv_rows(csv) for cell in row if cell.isdigit() and len(cell) == 13}


async def test_forms_and_the_monthly_summary_answer_only_the_callers_provinces(service):
    client, issuer, _closer = service
    office, national = as_office(issuer, "64"), issuer.headers("national")

    async def get(path: str, headers: dict[str, str], **params: str) -> httpx.Response:
        return await client.get(f"/v1/reports/{path}", params={"month": MONTH, "format": "csv", **params},
                                headers=headers)

    mine = await get("sp12", office, org_unit="6406")
    assert mine.status_code == 200 and people_in(mine.content) == {"3640100456781"}
    assert people_in((await get("snb2", office, province="64")).content) == {"3640100456781"}
    assert (await get("monthly", office, province="64")).status_code == 200

    # Chachoengsao (24) has a person this month; Sukhothai's office is told there is no report,
    # exactly as for a province or an org unit with nothing at all (25, 2501).
    for path, params, missing in (("sp12", {"org_unit": "2401"}, "org unit 2401"),
                                  ("snb2", {"province": "24"}, "province 24"),
                                  ("monthly", {"province": "24"}, "province 24")):
        hidden = await get(path, office, **params)
        assert (hidden.status_code, hidden.json()) == (404, {"detail": f"No report for {missing}"}), path
        assert "1240100012341" not in hidden.text
    nothing = [await get("sp12", office, org_unit="2501"), await get("snb2", office, province="25")]
    assert [(a.status_code, a.json()["detail"]) for a in nothing] == [
        (404, "No report for org unit 2501"), (404, "No report for province 25")]

    # An org unit is covered through its province; national reads everywhere.
    theirs = await get("sp12", as_office(issuer, "24"), org_unit="2401")
    assert people_in(theirs.content) == {"1240100012341"}
    assert people_in((await get("sp12", national, org_unit="2401")).content) == {"1240100012341"}
    assert people_in((await get("snb2", national, province="64")).content) == {"3640100456781"}

    # Roles without the forms: ops, a clerk of the org unit itself, no token at all.
    assert (await get("sp12", issuer.headers("ops"), org_unit="6406")).status_code == 403
    assert (await get("sp12", issuer.headers("intake_clerk", org_units=("6406",)), org_unit="6406")).status_code == 403
    assert (await get("monthly", issuer.headers("ops"), province="64")).status_code == 403
    assert (await client.get("/v1/reports/sp12", params={"org_unit": "6406", "month": MONTH})).status_code == 401


async def test_a_province_closes_its_own_forms_and_reads_only_its_filed_versions(service):
    client, issuer, closer = service
    office = as_office(issuer, "64", subject=OFFICE_64)
    national = issuer.headers("national")

    closed = await client.post("/v1/reports/close-due", headers=office)
    assert closed.status_code == 200, closed.text
    assert sorted((v["form"], v["scope"], v["version"], v["closed_by"]) for v in closed.json()["published"]) == [
        ("snb2", "64", 1, OFFICE_64), ("sp12", "6406", 1, OFFICE_64)], "Chachoengsao's forms are not its to close"
    assert (await client.post("/v1/reports/close-due", headers=office)).json()["published"] == []
    for refused in (national, issuer.headers("ops")):  # national reads only; ops has no forms
        assert (await client.post("/v1/reports/close-due", headers=refused)).status_code == 403
    # The background loop closes every province, as "system".
    loop = await closer.close_due()
    assert sorted((r.form, r.scope, r.closed_by) for r in loop) == [("snb2", "24", "system"), ("sp12", "2401", "system")]

    async def listed(headers: dict[str, str], **params: str) -> list[tuple[str, str]]:
        answer = await client.get("/v1/reports/published", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return sorted((v["form"], v["scope"]) for v in answer.json()["versions"])

    assert await listed(office) == [("snb2", "64"), ("sp12", "6406")]
    assert await listed(office, scope="2401") == []
    assert await listed(as_office(issuer, "24")) == [("snb2", "24"), ("sp12", "2401")]
    assert await listed(national) == [("snb2", "24"), ("snb2", "64"), ("sp12", "2401"), ("sp12", "6406")]
    # An office named by org unit only (no province) sees that unit's SP-12, not the province's SNB-2.
    unit_only = {"Authorization": "Bearer " + issuer.mint(roles=("provincial_office",), org_units=("2401",))}
    assert await listed(unit_only, limit="1") == [("sp12", "2401")]

    theirs = f"/v1/reports/published/sp12/2401/{MONTH}/1.csv"
    hidden = await client.get(theirs, headers=office)
    never = await client.get(f"/v1/reports/published/sp12/6406/{MONTH}/9.csv", headers=office)
    assert (hidden.status_code, hidden.json()) == (404, {"detail": f"No version 1 of sp12/2401/{MONTH}"})
    assert never.status_code == 404 and never.json()["detail"] == f"No version 9 of sp12/6406/{MONTH}"
    assert (await client.get(f"/v1/reports/published/snb2/24/{MONTH}/1.json", headers=office)).status_code == 404
    filed = await client.get(theirs, headers=national)
    assert filed.status_code == 200 and people_in(filed.content) == {"1240100012341"}
    mine = await client.get(f"/v1/reports/published/sp12/6406/{MONTH}/1.json", headers=office)
    assert mine.status_code == 200 and mine.json()["closed_by"] == OFFICE_64
    assert (await client.get(theirs, headers=issuer.headers("ops"))).status_code == 403


async def test_completeness_is_the_callers_provinces_and_carries_no_person(service):
    client, issuer, closer = service
    await closer.close_due()

    async def scopes(headers: dict[str, str], **params: str) -> httpx.Response:
        return await client.get("/v1/reports/completeness", params={"month": MONTH, **params}, headers=headers)

    def shown(answer: httpx.Response) -> list[tuple[str, str, bool]]:
        assert answer.status_code == 200, answer.text
        return sorted((s["form"], s["scope"], s["closed"]) for s in answer.json()["scopes"])

    everything = [("snb2", "24", True), ("snb2", "64", True), ("sp12", "2401", True), ("sp12", "6406", True)]
    office = as_office(issuer, "64")
    assert shown(await scopes(office)) == [("snb2", "64", True), ("sp12", "6406", True)]
    assert shown(await scopes(office, province="64")) == [("snb2", "64", True), ("sp12", "6406", True)]
    hidden = await scopes(office, province="24")
    assert (hidden.status_code, hidden.json()) == (404, {"detail": "No report for province 24"})
    assert shown(await scopes(issuer.headers("national"))) == everything
    assert shown(await scopes(issuer.headers("national"), province="24")) == everything[::2]
    ops = await scopes(issuer.headers("ops"))
    assert shown(ops) == everything
    assert not any(text in ops.text for person in PEOPLE.values() for text in person[:2])
    assert (await scopes(issuer.headers("intake_clerk", org_units=("6406",)))).status_code == 403
