"""The TPMAP report on SQLite and PostgreSQL: people helped in Sukhothai who were TPMAP targets
when referred, by district, from real registry imports dated before and after the referrals."""

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import update

from reporting.forms import FiscalYear, Month
from reporting.models import TABLES, IntakeServiceFact, ReferralFact
from reporting.projection import month_of
from reporting.registries import RegistryImport, import_registry
from reporting.registry_stamps import apply_stamp, stamp_at
from reporting.summaries import Period
from reporting.tpmap_api import tpmap_router
from reporting.tpmap_report import tpmap_report
from shared.db import create_tables, make_engine, session_factory
from shared.ids import person_ref
from tests.support.registry_files import person_rows, valid_ids, write_registry
from tests.support.report_reading import guarded_app
from tests.support.tokens import LocalIssuer

pytestmark = pytest.mark.integration
BANGKOK = ZoneInfo("Asia/Bangkok")
KEY = "tpmap-report-test-key"
IDS = valid_ids(16, seed=505)
# Five targets in Si Samrong (6406), three in Ban Dan Lan Hoi (6402), as the Sukhothai office
# reported them; two people of Mueang Sukhothai (6401) who are on no list; D, who joined the
# list only in December; U, helped in June before any list was loaded; Z, another province's.
S1, S2, S3, S4, S5, B1, B2, B3, N1, N2, D, U, Z, C = (person_ref(national_id=i, key=KEY) for i in IDS[:14])
NOV_10, JAN_12, JUN_15 = (datetime(2026, 11, 10, 10, 0, tzinfo=BANGKOK), datetime(2027, 1, 12, 9, 0, tzinfo=BANGKOK),
                          datetime(2026, 6, 15, 14, 0, tzinfo=BANGKOK))


def help_(rid: str, ref: str, district: str, at: datetime, *, status: str = "in_progress") -> ReferralFact:
    return ReferralFact(referral_id=rid, intake_id=f"i-{rid}", need_code="job_registration", agency="employment",
                        category="promote", status=status, has_intake=True, province_code=district[:2],
                        district_code=district, subdistrict_code=f"{district}01", org_unit=district,
                        source_program="tpmap", worker_type="informal", person_ref=ref, intake_received_at=at,
                        intake_month=month_of(at, zone=BANGKOK))


def facts() -> list:
    return [
        *(help_(f"r{n}", ref, "6406", NOV_10) for n, ref in enumerate((S1, S2, S3, S4, S5))),
        help_("r-s1-again", S1, "6406", NOV_10),  # two helps, one person
        help_("rB1", B1, "6402", NOV_10), help_("rB2", B2, "6402", NOV_10),
        IntakeServiceFact(intake_id="i-b3", need_code="drug_prevention_outreach", category="prevent",
                          province_code="64", district_code="6402", org_unit="6402", source_program="tpmap",
                          worker_type="informal", person_ref=B3, intake_month="2026-11", intake_received_at=NOV_10),
        help_("rN1", N1, "6401", NOV_10), help_("rN2", N2, "6401", NOV_10, status="completed"),
        help_("rD", D, "6406", NOV_10),
        help_("rC", C, "6406", NOV_10, status="cancelled"),  # on the list, but no help was given
        help_("rZ", Z, "6501", NOV_10),  # on the list, another province
        help_("rD-jan", D, "6406", JAN_12), help_("rS1-jan", S1, "6406", JAN_12),
        help_("rU", U, "6406", JUN_15),
    ]


@pytest.fixture
async def sessions(database_url, tmp_path: Path):
    engine = make_engine(database_url("reporting"))
    await create_tables(engine, TABLES)
    by_ref = dict(zip((S1, S2, S3, S4, S5, B1, B2, B3, N1, N2, D, U, Z, C), IDS[:14], strict=True))

    async def load(name: str, refs: list[str], effective: date) -> None:
        rows = person_rows([by_ref[r] for r in refs])
        for row, ref in zip(rows, refs, strict=True):
            row[3] = "6402" if ref in (B1, B2, B3) else "6501" if ref == Z else "6406"
            row[2] = row[3][:2]
        # `today` fixed: the lists are dated relative to the fixed referrals, not to the clock.
        result = await import_registry(engine, kind="tpmap", effective_date=effective, person_ref_key=KEY,
                                       path=write_registry(tmp_path / name, rows), today=date(2027, 9, 30))
        # Loaded on its effective day, as an office keeping its lists up to date would have it:
        # a help is stamped only with snapshots already loaded when it was referred.
        async with engine.begin() as connection:
            await connection.execute(update(RegistryImport).where(RegistryImport.id == result.import_id).values(
                imported_at=datetime.combine(effective, time(), tzinfo=BANGKOK)))

    # July's list is in effect on 10 November; December's, imported too, only from 1 December on.
    await load("tpmap-2569-07.csv", [S1, S2, S3, S4, S5, B1, B2, B3, Z, C], date(2026, 7, 1))
    await load("tpmap-2569-12.csv", [S2, S3, S4, S5, B1, B2, B3, D], date(2026, 12, 1))
    factory = session_factory(engine)
    async with factory() as session:
        for fact in facts():  # stamped as effects.intake_submitted stamps them
            assert fact.person_ref and fact.intake_received_at
            apply_stamp(fact, stamp=await stamp_at(session, person_ref=fact.person_ref,
                                                   received_at=fact.intake_received_at))
            session.add(fact)
        await session.commit()
    yield factory
    await engine.dispose()


def districts(report: dict) -> dict[str, tuple]:
    return {r["code"]: (r["name_th"], r["people_helped"], r["targets"], r["not_targets"], r["unknown"])
            for r in report["by_district"]}


def _without_stamp(report: dict) -> dict:
    return {key: value for key, value in report.items() if key != "generated_at"}


async def test_a_month_counts_targets_as_of_the_day_they_were_referred(sessions):
    async with sessions() as session:
        report = await tpmap_report(session, province="64", period=Period.of_month(Month(2026, 11)), zone=BANGKOK)

    assert report["totals"] == {"people_helped": 11, "targets": 8, "not_targets": 3, "unknown": 0}
    assert districts(report) == {
        "6401": ("เมืองสุโขทัย", 2, 0, 2, 0),
        "6402": ("บ้านด่านลานหอย", 3, 3, 0, 0),  # B3's service at intake counts as a help
        "6406": ("ศรีสำโรง", 6, 5, 1, 0),  # D joined the list in December: not a target in November
    }
    # Only July's snapshot was in effect on 10 November; December's import changes nothing here.
    assert [(s["effective_date"], s["people_checked"], s["people_listed"]) for s in report["snapshots"]] == [
        ("2026-07-01", 11, 8)]


async def test_a_fiscal_year_counts_a_person_once_and_a_later_help_under_a_later_list(sessions):
    async with sessions() as session:
        year = await tpmap_report(session, province="64", period=Period.of_fiscal_year(FiscalYear(2570)),
                                  zone=BANGKOK)
        june = await tpmap_report(session, province="64", period=Period.of_month(Month(2026, 6)), zone=BANGKOK)

    # D was on December's list when helped again in January; S1, dropped from it, was a target in November.
    assert year["totals"] == {"people_helped": 11, "targets": 9, "not_targets": 2, "unknown": 0}
    assert districts(year)["6406"] == ("ศรีสำโรง", 6, 6, 0, 0)
    assert [(s["effective_date"], s["people_checked"], s["people_listed"]) for s in year["snapshots"]] == [
        ("2026-07-01", 11, 8), ("2026-12-01", 2, 1)]
    # Before any list was loaded the answer is unknown, never "not a target".
    assert june["totals"] == {"people_helped": 1, "targets": 0, "not_targets": 0, "unknown": 1}
    assert june["snapshots"] == []


async def test_the_route_answers_json_and_csv_and_refuses_with_reasons(sessions):
    issuer = LocalIssuer()
    app = guarded_app(tpmap_router(sessions=sessions, zone=BANGKOK), issuer=issuer)
    office = issuer.headers("provincial_office", provinces=("64",))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers=office) as client:
        as_json = await client.get("/v1/reports/tpmap", params={"province": "64", "month": "2026-11"})
        national = await client.get("/v1/reports/tpmap", params={"province": "64", "month": "2026-11"},
                                    headers=issuer.headers("national"))
        elsewhere = await client.get("/v1/reports/tpmap", params={"province": "24", "month": "2026-11"},
                                     headers=issuer.headers("provincial_office", provinces=("24",)))
        hidden = await client.get("/v1/reports/tpmap", params={"province": "64", "month": "2026-11"},
                                  headers=issuer.headers("provincial_office", provinces=("24",)))
        ops = await client.get("/v1/reports/tpmap", params={"province": "64", "month": "2026-11"},
                               headers=issuer.headers("ops"))
        as_csv = await client.get("/v1/reports/tpmap", params={"province": "64", "fiscal_year": "2570",
                                                               "format": "csv"})
        refused = await client.get("/v1/reports/tpmap", params={"province": "99", "month": "2026-11",
                                                               "fiscal_year": "2570"})

    assert as_json.status_code == 200 and as_json.json()["totals"]["targets"] == 8
    # The same report for the national role; only the moment it was made may differ by a second.
    assert _without_stamp(national.json()) == _without_stamp(as_json.json())
    assert as_json.json()["generated_at"].endswith("+07:00")
    # Chachoengsao's office reads its own (empty) report, and not Sukhothai's.
    assert elsewhere.status_code == 200 and elsewhere.json()["totals"]["targets"] == 0
    assert (hidden.status_code, hidden.json()) == (404, {"detail": "No report for province 64"})
    assert ops.status_code == 403
    assert as_csv.status_code == 200 and as_csv.content.startswith("\ufeff".encode())
    assert 'filename="tpmap-64-fy2570.csv"' in as_csv.headers["content-disposition"]
    lines = as_csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "รายงานผู้ได้รับความช่วยเหลือที่เป็นครัวเรือนเป้าหมาย TPMAP จังหวัดสุโขทัย ปีงบประมาณ พ.ศ. 2570"
    assert lines[1] == "ผู้ได้รับความช่วยเหลือ 11 คน เป็นเป้าหมาย TPMAP 9 คน"
    assert "ฉบับวันที่ 1 กรกฎาคม พ.ศ. 2569" in lines[2] and "1 ธันวาคม พ.ศ. 2569" in lines[2]
    assert lines[5] == "6402,บ้านด่านลานหอย,3,3,0,0"
    assert lines[-1] == ",รวม,11,9,2,0"
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {"province", "month"}
