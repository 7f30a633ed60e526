"""Each referral records whether the person was on the informal-labour and TPMAP registries when
referred, with the snapshot that says so (reporting.registry_stamps), on SQLite and PostgreSQL:
stamped when the intake is applied, never changed by a later import, put right for an intake that
arrived while an import was loading, and shown on SNB-2 with the snapshot's dates."""

from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import select

from reporting import form_sources
from reporting.forms import Month, read_csv_rows, render
from reporting.models import TABLES, IntakeServiceFact, ReferralFact
from reporting.registries import RegistryImport, import_registry
from reporting.registry_stamps import restamp_after_import
from shared.db import create_tables, make_engine, session_factory
from tests.support.examples import contract_example, intake_event
from tests.support.registry_files import person_rows, valid_ids, write_registry
from tests.support.report_reading import apply_events, catalogs
from tests.support.sealing import MASTER_KEYS

pytestmark = pytest.mark.integration
BANGKOK = ZoneInfo("Asia/Bangkok")
NATIONAL_ID = "3640100456781"  # the contract example's person; intake_event hashes with "test-key"
OTHER_ID = valid_ids(1, seed=4242)[0]


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BANGKOK)


def intake(*, number: int, received: datetime, with_service: bool = False):  # noqa: ANN201
    body = contract_example()
    if with_service:
        body["needs"] = [*body["needs"], {**body["needs"][0], "code": "drug_prevention_outreach"}]
    return intake_event(body, intake_id=f"00000000-0000-0000-0000-{number:012d}", received_at=received)


@pytest.fixture
async def engine(database_url):
    engine = make_engine(database_url("stamps"))
    await create_tables(engine, TABLES)
    yield engine
    await engine.dispose()


async def load(engine, tmp_path: Path, *, kind: str, ids: list[str], effective: date, loaded: datetime) -> int:  # noqa: ANN001
    result = await import_registry(engine, kind=kind, effective_date=effective, person_ref_key="test-key",
                                   path=write_registry(tmp_path / f"{kind}-{effective}-{loaded:%H%M%S%f}.csv",
                                                       person_rows(ids)),
                                   today=date(2026, 12, 31))
    async with engine.begin() as connection:
        await connection.execute(update(RegistryImport).where(RegistryImport.id == result.import_id)
                                 .values(imported_at=loaded.astimezone(UTC)))
    return result.import_id


async def stamps(engine, intake_id: str) -> set[tuple]:  # noqa: ANN001
    async with session_factory(engine)() as session:
        referrals = (await session.exec(select(ReferralFact).where(ReferralFact.intake_id == intake_id))).all()
        services = (await session.exec(select(IntakeServiceFact).where(IntakeServiceFact.intake_id == intake_id))).all()
    return {(f.informal_registry, f.informal_registry_import_id, f.tpmap_registry, f.tpmap_registry_import_id)
            for f in [*referrals, *services]}


async def test_each_referral_records_the_registries_as_they_were_when_it_was_referred(engine, tmp_path):
    september = await load(engine, tmp_path, kind="informal_labour", ids=[NATIONAL_ID], effective=date(2026, 9, 1),
                           loaded=at(date(2026, 9, 1), 8))
    october = await load(engine, tmp_path, kind="informal_labour", ids=[OTHER_ID], effective=date(2026, 10, 1),
                         loaded=at(date(2026, 10, 1), 8))
    tpmap = await load(engine, tmp_path, kind="tpmap", ids=[NATIONAL_ID], effective=date(2026, 9, 1),
                       loaded=at(date(2026, 9, 1), 8))
    before_any, in_september, in_october = (intake(number=1, received=at(date(2026, 8, 20))),
                                            intake(number=2, received=at(date(2026, 9, 20)), with_service=True),
                                            intake(number=3, received=at(date(2026, 10, 5))))
    sessions = session_factory(engine)
    await apply_events(sessions, [("intake", event) for event in (before_any, in_september, in_october)])

    assert await stamps(engine, before_any.intake_id) == {(None, None, None, None)}
    # Every referral of the intake and its service at intake carry the same stamp.
    assert await stamps(engine, in_september.intake_id) == {(True, september, True, tpmap)}
    assert await stamps(engine, in_october.intake_id) == {(False, october, True, tpmap)}

    # A correction of September's list, dated 1 September but loaded in November, names nobody:
    # what the September form said stands, and the import does not touch it.
    late = await load(engine, tmp_path, kind="informal_labour", ids=[OTHER_ID], effective=date(2026, 9, 1),
                      loaded=at(date(2026, 11, 3)))
    assert await restamp_after_import(engine, import_id=late) == 0
    assert await stamps(engine, in_september.intake_id) == {(True, september, True, tpmap)}

    async with sessions() as session:
        form = await form_sources.build_snb2(session, province="64", month=Month(2026, 9), catalogs=catalogs(),
                                             master_keys=MASTER_KEYS, generated_at=at(date(2026, 10, 5)))
    cells = read_csv_rows(render(form, fmt="csv"))
    assert [row[6:] for row in cells if row[3] == NATIONAL_ID] == [["✓", ""]]
    assert cells[-1][0] == ("หมายเหตุ: ตรวจสอบกับฐานข้อมูลแรงงานนอกระบบ ข้อมูล ณ วันที่ 1 กันยายน พ.ศ. 2569 "
                            "(นำเข้าเมื่อ 1 กันยายน พ.ศ. 2569)")


async def test_an_intake_applied_while_an_import_was_loading_is_stamped_again_once_it_is_in(engine, tmp_path):
    received = at(date(2026, 11, 10), 10)
    event = intake(number=4, received=received)
    sessions = session_factory(engine)
    await apply_events(sessions, [("intake", event)])
    assert await stamps(engine, event.intake_id) == {(None, None, None, None)}

    # The import began a minute before the intake arrived and committed after reporting had
    # applied it: a rebuild would see the import, so the live stamp must be put right.
    started = await load(engine, tmp_path, kind="informal_labour", ids=[NATIONAL_ID], effective=date(2026, 11, 1),
                         loaded=at(date(2026, 11, 10), 9).replace(minute=59))
    assert await restamp_after_import(engine, import_id=started) > 0
    assert await stamps(engine, event.intake_id) == {(True, started, None, None)}
    assert await restamp_after_import(engine, import_id=started) == 0, "a second pass changes nothing"
