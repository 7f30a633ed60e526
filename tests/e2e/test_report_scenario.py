"""The fixed scenario (tests/support/report_scenario.py) through the real broker and a reporting
process: its SP-12 and SNB-2 files compared cell by cell with the files in
tests/fixtures/report-scenario/, then the reporting database rebuilt from the log and compared
with the live one.

The scenario: 36 people taken in during September 2026 (Asia/Bangkok) in Sukhothai (64: org
units 6401 and 6406) and Chachoengsao (24: 2401 and 2402), nine per org unit; every source
programme (rehabilitation and CI centres, all with consent), every worker type, all four
agencies; drug-prevention outreach delivered at intake (category ระวังภัย) to five people,
one of whom has nothing else; a referral transferred from employment to skills and completed
there; two cancelled referrals, two needs no rule routes (debt_counselling), a declined and two
unreachable referrals; completed referrals with outcome codes and details, nine of them
completed after the SP-12 due day (25 September), some also after the SNB-2 due day (5 October);
an informal-labour registry in effect from 15 September listing seven of the people.

Why the forms read as they do (expected files checked by hand against the table):
- 33 people are listed in September: 36, less เกษม รุ่งเรือง (his only referral cancelled),
  เฉลิม บุญมา (her only need unroutable) and วันเพ็ญ สุขใจ, taken in at 00:20 on 1 October
  Bangkok time (still 30 September in UTC), who is on October's SP-12 of 6401 alone.
  SP-12: 6401 7, 6406 9, 2401 9, 2402 8; SNB-2: 64 16, 24 17.
- มาลัย จันทร์หอม was taken in twice (at 00:01 on 1 September, name misspelt จันหอม, and on
  22 September, corrected): one row, the corrected name, both helps.
- A help is listed with its outcome once the agency recorded one, late or not ("(ผล: …)"),
  under the outcome's category: อรุณี แสงทอง's overseas_work need reads พัฒนา, after skills
  certified her. Declined and unreachable referrals are listed without an outcome; cancelled,
  transferred and unroutable ones are not helps.
- สมพงษ์ วงศ์ใหญ่ lives in อ.เมืองสุโขทัย but was taken in by the ศรีสำโรง unit: on 6406's SP-12.
- SNB-2 ticks (the registry is imported with the command, then dated as loaded on 15 September:
  a form only uses snapshots loaded by the referral day, and September is replayed today):
  nobody referred before 15 September has one (no registry then), วิชัย ศรีสุข
  included although listed; of those referred on or after it, the seven listed are ticked
  มีรายชื่อ and the others ไม่มีรายชื่อ; the service-only person counts from the 1st: no tick.
- Every SNB-2 row names the one action plan, whatever programme found the person: a name per
  programme would single out the rehabilitation and CI centres' people (PDPA s.26).
The forms hold no time of generation in any cell (only the XLSX's document properties), so no
cell is left out of the comparison.
"""

import asyncio
import os
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from reporting.forms import read_csv_rows, read_xlsx_rows
from reporting.models import TABLES
from reporting.registries.models import RegistryImport, RegistryMember
from shared.db import InboxEntry, create_tables, make_engine, session_factory
from shared.settings import PrivacySettings
from shared.privacy import PersonKeyRecord
from shared.topics import Topics
from tests.support import report_scenario as scenario
from tests.support.infrastructure import REPO
from tests.support.kafka_io import produce
from tests.support.polling import eventually
from tests.support.processes import kafka_login, run_module
from tests.support.report_reading import backdate_registry, facts, registry_file, reports

pytestmark = pytest.mark.e2e
EXPECTED = REPO / "tests" / "fixtures" / "report-scenario"
SEPTEMBER_FILES = [*(f"sp12_{unit}_2026-09" for unit in scenario.ORG_UNITS),
                   *(f"snb2_{province}_2026-09" for province in scenario.PROVINCES)]
CONSUMERS = ("reporting.intakes", "reporting.assigned", "reporting.updated", "reporting.unroutable")


async def on_database(url: str, work):  # noqa: ANN001, ANN201
    engine = make_engine(url)
    try:
        return await work(engine)
    finally:
        await engine.dispose()


def applied_events(database_url: str) -> int:
    async def count(engine) -> int:  # noqa: ANN001
        async with session_factory(engine)() as session:
            found = await session.exec(select(func.count()).select_from(InboxEntry)
                                       .where(InboxEntry.consumer.in_(CONSUMERS)))  # type: ignore[attr-defined]
            return int(found.one())

    return asyncio.run(on_database(database_url, count))


def kept_keys(database_url: str) -> int:
    async def count(engine) -> int:  # noqa: ANN001
        async with session_factory(engine)() as session:
            return int((await session.exec(select(func.count()).select_from(PersonKeyRecord))).one())

    return asyncio.run(on_database(database_url, count))


@pytest.fixture
def live(start_service, database_url, kafka_env, tmp_path):
    """The reporting service after the whole scenario reached it, with the registry imported."""
    url = database_url("reporting")
    # Hourly close scan: the scenario's month is long due, and filed versions are not what this
    # test is about (the first scan runs at start, before any fact).
    reporting = start_service("reporting", {"REPORTING_CLOSE_SCAN_SECONDS": "3600"}, database=url)
    run_module("reporting.registries.cli", "import", "--kind", "informal_labour", "--effective-date",
               scenario.REGISTRY_EFFECTIVE.isoformat(), str(registry_file(tmp_path)), env=reporting.env)
    asyncio.run(on_database(url, backdate_registry))
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    records = scenario.records_by_topic(topics=topics, person_ref_key=PrivacySettings().person_ref_key)
    started = time.monotonic()

    async def send_all() -> None:
        await asyncio.gather(*(produce(kafka_env["KAFKA_BOOTSTRAP_SERVERS"], topic, messages)
                               for topic, messages in records.items()))

    asyncio.run(send_all())
    total = sum(len(messages) for topic, messages in records.items() if topic != topics.person_keys)
    people = len(records[topics.person_keys])
    # Complete when every event produced is in the inbox of its consumer (each is applied once),
    # and every person's key is kept (the key copies keep no inbox).
    eventually(lambda: (applied_events(url), kept_keys(url)), until=lambda n: n == (total, people), timeout=90,
               interval=0.5)
    print(f"{total} events applied by the live service in {time.monotonic() - started:.1f} s")
    return reporting, url


def download(url: str, form: str, stem: str, fmt: str, *, auth: httpx.Auth) -> bytes:
    _form, scope, month = stem.split("_")
    params = {"org_unit" if form == "sp12" else "province": scope, "month": month, "format": fmt}
    answer = httpx.get(f"{url}/v1/reports/{form}", params=params, auth=auth, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.content


def test_scenario_forms_equal_the_expected_files_cell_by_cell(live, identity):
    reporting, _url = live
    # Each province's office reads its own files; national reads them all, the same bytes' cells.
    office = {"64": identity.auth("province-64"),
              "24": identity.auth(identity.ensure_user("province-24", roles=["provincial_office"], provinces=["24"]))}
    for stem in [*SEPTEMBER_FILES, "sp12_6401_2026-10"]:
        form, scope = stem.split("_")[:2]
        got_csv = read_csv_rows(download(reporting.url, form, stem, "csv", auth=office[scope[:2]]))
        want_csv = read_csv_rows((EXPECTED / f"{stem}.csv").read_bytes())
        got_xlsx = read_xlsx_rows(download(reporting.url, form, stem, "xlsx", auth=identity.auth("national")))
        want_xlsx = read_xlsx_rows((EXPECTED / f"{stem}.xlsx").read_bytes())
        assert len(got_csv) == len(want_csv), f"{stem}.csv: {len(got_csv)} rows, expected {len(want_csv)}"
        for number, (got, want) in enumerate(zip(got_csv, want_csv, strict=True), start=1):
            assert got == want, f"{stem}.csv row {number}"
        assert len(got_xlsx) == len(want_xlsx), f"{stem}.xlsx: {len(got_xlsx)} rows, expected {len(want_xlsx)}"
        for number, (got, want) in enumerate(zip(got_xlsx, want_xlsx, strict=True), start=1):
            assert got == want, f"{stem}.xlsx row {number}"
        # The two formats say the same: the XLSX keeps numbers as numbers, the CSV as text.
        as_text = [["" if cell is None else str(cell) for cell in row] for row in got_xlsx]
        assert as_text == got_csv, stem


def test_rebuild_from_the_log_gives_the_same_reports(live, database_url, kafka_env):
    reporting, live_url = live
    rebuilt_url = database_url("reporting-rebuilt")
    started = time.monotonic()
    output = run_module("reporting.rebuild", "--database-url", rebuilt_url, "--from-database-url", live_url,
                        env={**kafka_env, **kafka_login("reporting"), "SONGTOR_ENVIRONMENT": "test"})
    print(output, f"rebuild command: {time.monotonic() - started:.1f} s", sep="\n")
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    records = scenario.records_by_topic(topics=topics, person_ref_key=PrivacySettings().person_ref_key)
    for topic in [topics.intake_submitted, *topics.all_assigned(), topics.referral_updated, topics.referral_unroutable,
                  topics.person_keys]:
        line = next(line for line in output.splitlines() if line.startswith(topic + " "))
        assert line.split()[1] == f"{len(records.get(topic, [])):,}", line
    assert "registry_members 9" in output, output

    async def compare() -> None:
        engines = [make_engine(live_url), make_engine(rebuilt_url)]
        try:
            live_sessions, rebuilt_sessions = (session_factory(e) for e in engines)
            assert await facts(rebuilt_sessions) == await facts(live_sessions)
            # The people's names come from the keys each database kept: the live one from person.keys,
            # the rebuilt one from replaying it.
            want, got = await reports(live_sessions, test_keys=False), await reports(rebuilt_sessions, test_keys=False)
            assert sorted(got) == sorted(want)
            for name in want:
                assert got[name] == want[name], name
            for model in (RegistryImport, RegistryMember):
                async with live_sessions() as a, rebuilt_sessions() as b:
                    rows = [sorted(map(str, (await s.exec(select(model))).all())) for s in (a, b)]
                assert rows[0] == rows[1], model.__tablename__
            # A rebuild refuses a database that is not empty, rather than mixing two histories.
            await create_tables(engines[1], TABLES)
        finally:
            for engine in engines:
                await engine.dispose()

    asyncio.run(compare())
    refused = subprocess.run([sys.executable, "-m", "reporting.rebuild", "--database-url", rebuilt_url], cwd=REPO,
                             env={**os.environ, **kafka_env, **kafka_login("reporting")}, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "already has reporting tables" in refused.stderr, refused.stderr
