"""Registry snapshots on SQLite and PostgreSQL: import with rejects, membership at a point in
time, all-or-nothing loads, and no national ID stored."""

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from reporting.models import TABLES
from reporting.registries import (
    RegistryFileError, RegistryImport, RegistryMember, import_registry, registry_import_at, registry_status_at,
)
from reporting.registries.api import registries_router
from reporting.registries.cli import main as cli_main
from shared.db import create_tables, make_engine, session_factory
from shared.ids import person_ref
from tests.support.registry_files import ENGLISH_HEADER, person_rows, valid_ids, write_registry
from tests.support.report_reading import guarded_app
from tests.support.tokens import LocalIssuer

pytestmark = pytest.mark.integration
KEY = "integration-test-key"
JULY, OCTOBER = date(2026, 7, 1), date(2026, 10, 1)


def ref(national_id: str) -> str:
    return person_ref(national_id=national_id, key=KEY)


@pytest.fixture
async def engine(database_url):
    engine = make_engine(database_url("reporting"))
    await create_tables(engine, TABLES)  # as the reporting service does: the registry tables are among them
    yield engine
    await engine.dispose()


async def load(engine, path: Path, *, effective_date: date, kind: str = "tpmap", **options):  # noqa: ANN001, ANN201
    return await import_registry(engine, kind=kind, effective_date=effective_date, path=path,
                                 person_ref_key=KEY, **options)


async def test_good_rows_import_and_bad_rows_are_reported(engine, tmp_path: Path, caplog):
    ids = valid_ids(2000, seed=11)
    rows = person_rows(ids)
    bad_id = ids[5][:12] + str((int(ids[5][12]) + 1) % 10)
    rows[5][0] = bad_id
    rows[17][3] = "2401"
    rows[40][1] = ""
    rows.insert(100, ["", "", "", ""])  # a blank line is no row
    path = write_registry(tmp_path / "tpmap-2569-10.csv", rows)
    caplog.set_level(logging.DEBUG)

    result = await load(engine, path, effective_date=OCTOBER, rejects_path=tmp_path / "rejects.csv",
                        batch_rows=500)

    assert (result.rows_accepted, result.rows_rejected) == (1997, 3)
    assert result.rejected_by_reason == {"national_id_check_digit": 1, "district_outside_province": 1,
                                         "household_id_empty": 1}
    lines = result.rejects_path.read_bytes().decode("utf-8").splitlines()
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["7", "เลขประจำตัวประชาชน"], ["19", "รหัสอำเภอ"], ["42", "รหัสบ้าน"]]
    async with session_factory(engine)() as session:
        snapshot = await session.get(RegistryImport, result.import_id)
        assert (snapshot.kind, snapshot.effective_date, snapshot.file_name) == ("tpmap", OCTOBER, "tpmap-2569-10.csv")
        assert (snapshot.rows_accepted, snapshot.rows_rejected) == (1997, 3)
        members = (await session.exec(select(func.count()).select_from(RegistryMember))).one()
        assert members[0] == 1997
        first = (await session.exec(select(RegistryMember).where(RegistryMember.row_number == 2))).one()[0]
        assert (first.person_ref, first.household_id, first.province_code, first.district_code) == (
            ref(ids[0]), "64060000000", "64", "6406")
    assert bad_id not in result.rejects_path.read_text(encoding="utf-8-sig")
    assert not any(national_id in caplog.text for national_id in ids + [bad_id])


async def test_membership_is_answered_as_of_a_day_from_the_snapshot_in_effect_then(engine, tmp_path: Path):
    left, stayed, joined = valid_ids(3, seed=21)
    july = await load(engine, write_registry(tmp_path / "july.csv", person_rows([left, stayed])), effective_date=JULY)
    october = await load(engine, write_registry(tmp_path / "oct.csv", person_rows([stayed, joined])),
                         effective_date=OCTOBER)
    people = [ref(left), ref(stayed), ref(joined)]

    async def on(at, kind="tpmap", **options):  # noqa: ANN001, ANN202
        async with session_factory(engine)() as session:
            answers = await registry_status_at(session, kind=kind, person_refs=people, at=at, **options)
        return [answers[p].on_registry for p in people], {answers[p].import_id for p in people}

    assert await on(date(2026, 6, 30)) == ([None, None, None], {None})  # before any snapshot: unknown
    assert await on(date(2026, 8, 15)) == ([True, True, False], {july.import_id})
    assert await on(date(2026, 9, 30)) == ([True, True, False], {july.import_id})
    assert await on(OCTOBER) == ([False, True, True], {october.import_id})
    # 00:30 on 1 October in Bangkok is still 30 September in UTC: the Thai day decides.
    assert await on(datetime(2026, 9, 30, 17, 30, tzinfo=UTC)) == ([False, True, True], {october.import_id})
    assert await on(datetime(2026, 9, 30, 16, 30, tzinfo=UTC)) == ([True, True, False], {july.import_id})
    assert await on(date(2026, 11, 1), kind="informal_labour") == ([None, None, None], {None})
    # As known before the October file was loaded, the same day is answered from July's.
    before_october = october.imported_at - timedelta(microseconds=1)
    assert await on(OCTOBER, known_at=before_october) == ([True, True, False], {july.import_id})

    async with session_factory(engine)() as session:
        status = (await registry_status_at(session, kind="tpmap", person_refs=[ref(left)], at=OCTOBER))[ref(left)]
    assert (status.effective_date, status.imported_at) == (OCTOBER, october.imported_at)


async def test_a_corrected_reimport_with_the_same_date_replaces_the_first(engine, tmp_path: Path):
    first_person, second_person = valid_ids(2, seed=31)
    await load(engine, write_registry(tmp_path / "a.csv", person_rows([first_person])), effective_date=JULY)
    corrected = await load(engine, write_registry(tmp_path / "b.csv", person_rows([second_person])),
                           effective_date=JULY)
    async with session_factory(engine)() as session:
        assert (await registry_import_at(session, kind="tpmap", at=JULY)).id == corrected.import_id
        answers = await registry_status_at(session, kind="tpmap", person_refs=[ref(first_person), ref(second_person)],
                                           at=JULY)
    assert [answers[ref(first_person)].on_registry, answers[ref(second_person)].on_registry] == [False, True]


async def test_no_national_id_is_stored(engine, tmp_path: Path):
    ids = valid_ids(300, seed=41)
    path = write_registry(tmp_path / "informal.csv", [[i, "", "64", "6406"] for i in ids], header=ENGLISH_HEADER)
    await load(engine, path, effective_date=JULY, kind="informal_labour")
    async with engine.connect() as connection:
        cells = [str(cell) for table in ("registry_imports", "registry_members")
                 for row in (await connection.execute(text(f"SELECT * FROM {table}"))).all() for cell in row]
    assert len(cells) > 300 * 5
    stored = "\n".join(cells)
    assert not any(national_id in stored for national_id in ids)
    assert not any(national_id[1:12] in stored for national_id in ids)


async def test_a_file_that_breaks_halfway_leaves_nothing_behind(engine, tmp_path: Path):
    path = write_registry(tmp_path / "broken.csv", person_rows(valid_ids(1500, seed=51)))
    with path.open("ab") as file:
        file.write("3640100456782,1,64,6406\n".encode("cp874") + b"\xff\xfe,\x81,64,6406\n")
    with pytest.raises(RegistryFileError, match="not UTF-8"):
        await load(engine, path, effective_date=JULY, batch_rows=200)  # several batches were written first
    nothing = write_registry(tmp_path / "nothing.csv", [["12345", "1", "64", "6406"]])
    with pytest.raises(RegistryFileError, match="No row could be imported"):
        await load(engine, nothing, effective_date=JULY)
    names_not_codes = person_rows(valid_ids(100, seed=52))
    for row in names_not_codes[:30]:
        row[2] = "สุโขทัย"
    shifted = write_registry(tmp_path / "names.csv", names_not_codes)
    with pytest.raises(RegistryFileError, match="30 of 100 rows were rejected"):
        await load(engine, shifted, effective_date=JULY, rejects_path=tmp_path / "names.rejects.csv")
    assert len((tmp_path / "names.rejects.csv").read_text(encoding="utf-8-sig").splitlines()) == 31
    async with engine.connect() as connection:
        for table in ("registry_imports", "registry_members"):
            assert (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one() == 0


async def test_the_command_imports_into_the_reporting_database(database_url, tmp_path: Path, monkeypatch, capsys):
    url = database_url("reporting")
    monkeypatch.setenv("REPORTING_DATABASE_URL", url)
    monkeypatch.setenv("SONGTOR_PERSON_REF_KEY", KEY)
    ids = valid_ids(50, seed=61)
    rows = person_rows(ids)
    rows[3][2] = "Sukhothai"
    path = write_registry(tmp_path / "tpmap.csv", rows)

    # In a thread: the command runs its own event loop, as it does from a terminal.
    def command(*argv: str) -> int:
        return cli_main(list(argv))

    assert await asyncio.to_thread(command, "import", "--kind", "tpmap", "--effective-date", "2026-10-01",
                                   str(path)) == 0
    out = capsys.readouterr().out
    assert "accepted: 49  rejected: 1" in out and f"rejected rows: {path}.rejects.csv" in out
    assert (tmp_path / "tpmap.csv.rejects.csv").exists()
    assert await asyncio.to_thread(command, "list", "--kind", "tpmap") == 0
    assert "2026-10-01" in capsys.readouterr().out
    assert await asyncio.to_thread(command, "import", "--kind", "tpmap", "--effective-date", "2569-10-01",
                                   str(path)) == 1
    assert "Buddhist Era" in capsys.readouterr().err

    engine = make_engine(url)
    try:
        async with session_factory(engine)() as session:
            answers = await registry_status_at(session, kind="tpmap", person_refs=[ref(ids[0]), ref(ids[3])],
                                               at=OCTOBER)
    finally:
        await engine.dispose()
    assert [answers[ref(ids[0])].on_registry, answers[ref(ids[3])].on_registry] == [True, False]


async def test_the_route_lists_snapshots_latest_first(engine, tmp_path: Path):
    ids = valid_ids(4, seed=71)
    await load(engine, write_registry(tmp_path / "july.csv", person_rows(ids[:2])), effective_date=JULY)
    await load(engine, write_registry(tmp_path / "oct.csv", person_rows(ids[2:])), effective_date=OCTOBER)
    issuer = LocalIssuer()
    app = guarded_app(registries_router(sessions=session_factory(engine)), issuer=issuer)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        tpmap = {"kind": "tpmap"}
        # Which snapshots are loaded says nothing about anyone: every reading role sees them all,
        # whatever its place (operations check that a monthly import arrived).
        seen = [await client.get("/v1/registries/imports", params=tpmap, headers=headers) for headers in (
            issuer.headers("ops"), issuer.headers("national"), issuer.headers("provincial_office", provinces=("24",)))]
        refused = await client.get("/v1/registries/imports", params={"kind": "tpmap2"}, headers=issuer.headers("ops"))
        clerk = await client.get("/v1/registries/imports", params=tpmap,
                                 headers=issuer.headers("intake_clerk", org_units=("6406",)))
        no_token = await client.get("/v1/registries/imports", params=tpmap)
    listed = seen[0].json()
    assert [(i["effective_date"], i["file_name"], i["rows_accepted"]) for i in listed] == [
        ("2026-10-01", "oct.csv", 2), ("2026-07-01", "july.csv", 2)]
    assert all(answer.status_code == 200 and answer.json() == listed for answer in seen)
    assert not any(nid in seen[0].text for nid in ids), "counts and file names, never a person"
    assert refused.status_code == 422
    assert (clerk.status_code, no_token.status_code) == (403, 401)
