"""Month close on SQLite and PostgreSQL, with the clock in the test's hands: nothing before the
due day; version 1 on it; a re-run changes nothing; a late outcome gives an amended version that
says what changed; a change the form does not show gives none; a month first seen after its due
day is closed late and says so; every version is announced on the outbox."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from reporting.closing import scope_changes
from reporting.closing.closer import MonthCloser, ReportSources
from reporting.closing.models import PublishedReport
from reporting.closing.schedule import CloseSchedule
from reporting.form_sources import Catalogs
from reporting.forms import read_csv_rows
from reporting import effects
from reporting.models import TABLES, IntakeServiceFact, ReferralFact, ReportPerson
from shared.catalog import default_catalog
from shared.catalog.outcomes import load_outcomes
from shared.contracts import ReferralUpdatedV2
from shared.db import OutboxMessage, create_tables, make_engine, session_factory
from shared.topics import Topics
from tests.support.sealing import SEALING, report_person

pytestmark = pytest.mark.integration
BANGKOK = ZoneInfo("Asia/Bangkok")
PEOPLE = {"ref-a": ("สมชาย ใจดี", "3640100456781"), "ref-b": ("มานี มีสุข", "1640600012347"),
          "ref-c": ("ปิติ ชูใจ", "5580730215730")}


def bangkok(*args: int) -> datetime:
    return datetime(*args, tzinfo=BANGKOK)


@pytest.fixture(params=["in a child process", "in process"])
async def closer(database_url, request):
    # The service builds each version in a child process (closing/child.py); tools and an
    # in-memory database build in process. Both must publish the same versions.
    url = database_url("reporting")
    engine = make_engine(url)
    await create_tables(engine, TABLES)
    sessions = session_factory(engine)
    sources = ReportSources(sessions=sessions, zone=BANGKOK, sealing=SEALING,
                            catalogs=Catalogs(needs=default_catalog(), outcomes=load_outcomes(None)),
                            database_url=url if request.param == "in a child process" else None)
    yield MonthCloser(sources=sources, schedule=CloseSchedule(), topics=Topics(prefix="t."), relay=None), sessions
    await engine.dispose()


def fact(referral_id: str, person: str, need: str, agency: str, *, at: datetime, status: str = "received") -> ReferralFact:
    return ReferralFact(
        referral_id=referral_id, intake_id=f"intake-{person}", need_code=need, agency=agency,
        category=default_catalog().needs[need].category, status=status, status_version=2, has_intake=True,
        province_code="64", district_code="6406", subdistrict_code="640601", org_unit="6406",
        source_program="walk_in", worker_type="informal", person_ref=person, intake_received_at=at.astimezone(UTC),
        intake_month=at.strftime("%Y-%m"), updated_at=at.astimezone(UTC),
    )


async def seed(sessions, *, at: datetime) -> None:  # noqa: ANN001
    async with sessions() as session:
        for ref, (name, nid) in PEOPLE.items():
            session.add_all(report_person(ref, full_name=name, national_id=nid))
        session.add(fact("r-a-job", "ref-a", "job_registration", "employment", at=at))
        session.add(fact("r-a-skill", "ref-a", "skill_training", "skills", at=at))
        session.add(fact("r-b-skill", "ref-b", "skill_training", "skills", at=at))
        session.add(fact("r-c-gone", "ref-c", "job_registration", "employment", at=at, status="cancelled"))
        await session.commit()


async def versions(sessions) -> list[PublishedReport]:  # noqa: ANN001
    async with sessions() as session:
        rows = (await session.exec(select(PublishedReport))).all()
    return sorted(rows, key=lambda r: (r.form, r.scope, r.month, r.version))


async def announced(sessions) -> list[dict]:  # noqa: ANN001
    async with sessions() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    return [json.loads(r.payload) for r in rows]


async def move(sessions, referral_id: str, *, at: datetime, **changes: object) -> None:  # noqa: ANN001
    """A fact changed as a consumer changes it: its scope's count of changes bumped with it."""
    async with sessions() as session:
        row = await session.get(ReferralFact, referral_id)
        for name, value in {**changes, "updated_at": at.astimezone(UTC)}.items():
            setattr(row, name, value)
        session.add(row)
        scope_changes.note_changed(session, facts=[row])
        await scope_changes.write_pending(session)
        await session.commit()


async def test_close_on_the_due_day_rerun_amend_and_late_close(closer):
    closer, sessions = closer
    await seed(sessions, at=bangkok(2026, 9, 10, 9))

    assert await closer.close_due(now=bangkok(2026, 9, 24, 23, 59)) == [], "not before the due day"
    first = await closer.close_due(now=bangkok(2026, 9, 25, 0, 5))
    assert [(r.form, r.scope, r.month, r.version, r.kind, r.on_time) for r in first] == [
        ("sp12", "6406", "2026-09", 1, "original", True)], "SP-12 due on the 25th; SNB-2 not until 5 Oct"
    cells = read_csv_rows(first[0].csv)
    assert any("จำนวน 2 คน" in cell for row in cells for cell in row), "the cancelled referral is no help"

    assert await closer.close_due(now=bangkok(2026, 9, 25, 0, 10)) == [], "a re-run changes nothing"
    assert len(await versions(sessions)) == 1

    # A late outcome changes what the form shows: an amended version says what changed.
    await move(sessions, "r-a-job", at=bangkok(2026, 9, 28, 14), status="completed", status_version=4,
               outcome_code="registered", completed_month="2026-09")
    amended = await closer.close_due(now=bangkok(2026, 9, 28, 15))
    assert [(r.form, r.version, r.kind, r.on_time) for r in amended] == [("sp12", 2, "amendment", True)]
    changes = json.loads(amended[0].changes_json)
    assert [c["change"] for c in changes] == ["changed"] and changes[0]["person"] == "3-6401-0xxxx-xx-1"
    assert "3640100456781" not in amended[0].changes_json
    assert "ผล:" in " ".join(changes[0]["after"]) and "ผล:" not in " ".join(changes[0]["before"])
    assert read_csv_rows(first[0].csv) == cells, "version 1 stays as it was filed"

    # A move the form does not show (accepted) publishes nothing new.
    await move(sessions, "r-b-skill", at=bangkok(2026, 9, 29, 10), status="accepted", status_version=3)
    assert await closer.close_due(now=bangkok(2026, 9, 29, 11)) == []

    snb2 = await closer.close_due(now=bangkok(2026, 10, 5, 8))
    assert [(r.form, r.scope, r.version, r.on_time) for r in snb2] == [("snb2", "64", 1, True)]

    # A month first seen after its due day is closed at once, and marked late.
    async with sessions() as session:
        session.add(IntakeServiceFact(intake_id="intake-late", need_code="drug_prevention_outreach", category="prevent",
                                      province_code="64", district_code="6406", org_unit="6406", source_program="walk_in",
                                      worker_type="informal", person_ref="ref-c", intake_month="2026-08",
                                      recorded_at=bangkok(2026, 10, 6, 9).astimezone(UTC)))
        await session.commit()
    late = await closer.close_due(now=bangkok(2026, 10, 6, 10))
    assert sorted((r.form, r.month, r.on_time) for r in late) == [("snb2", "2026-08", False), ("sp12", "2026-08", False)]

    events = await announced(sessions)
    assert sorted((e["report_key"], e["version"], e["kind"]) for e in events) == [
        ("snb2/64/2026-08", 1, "original"), ("snb2/64/2026-09", 1, "original"),
        ("sp12/6406/2026-08", 1, "original"), ("sp12/6406/2026-09", 1, "original"),
        ("sp12/6406/2026-09", 2, "amendment"),
    ]
    amendment = next(e for e in events if e["version"] == 2)
    assert amendment["rows_changed"] == 1 and amendment["people"] == 2
    assert all("3640100456781" not in json.dumps(e) for e in events), "events carry counts, never IDs"


async def test_an_office_closes_its_own_provinces_and_each_version_says_who_closed_it(closer):
    closer, sessions = closer
    at = bangkok(2026, 9, 10, 9)
    await seed(sessions, at=at)
    async with sessions() as session:
        session.add_all(report_person("ref-d", full_name="ชูใจ ต่างถิ่น", national_id="1240100012341"))
        elsewhere = fact("r-d-job", "ref-d", "job_registration", "employment", at=at)
        elsewhere.province_code, elsewhere.district_code, elsewhere.org_unit = "24", "2401", "2401"
        session.add(elsewhere)
        await session.commit()
    after_both_due = bangkok(2026, 10, 6, 9)

    assert await closer.close_due(now=after_both_due, provinces=frozenset(), closed_by="nobody") == []
    mine = await closer.close_due(now=after_both_due, provinces=frozenset({"64"}), closed_by="subject-64")
    assert sorted((r.form, r.scope, r.closed_by) for r in mine) == [("snb2", "64", "subject-64"),
                                                                     ("sp12", "6406", "subject-64")]
    rest = await closer.close_due(now=after_both_due)
    assert sorted((r.form, r.scope, r.closed_by) for r in rest) == [("snb2", "24", "system"), ("sp12", "2401", "system")]
    assert [(r.scope, r.closed_by) for r in await versions(sessions)] == [
        ("24", "system"), ("64", "subject-64"), ("2401", "system"), ("6406", "subject-64")]


async def test_a_fact_committed_between_the_closes_read_and_its_filing_is_amended(closer, monkeypatch):
    """A consumer writes a fact (stamped with its time) before the close starts, and commits it
    after the close has read the facts but before it files: the version filed lacks it. The next
    close amends it. (Compared by times, the fact looked older than the version and was never
    amended: several consumers commit in any order, so a time orders nothing.)"""
    closer, sessions = closer
    await seed(sessions, at=datetime.now(BANGKOK) - timedelta(days=70))  # a month both forms are due for
    outcome = ReferralUpdatedV2(
        event_id=uuid.uuid4(), occurred_at=datetime.now(UTC), correlation_id="intake-ref-a", producer="agency-adapters",
        referral_id="r-a-job", intake_id="intake-ref-a", person_ref="ref-a", agency="employment", status="completed",
        previous_status="received", version=4, outcome_code="registered", actor="officer-employment-64")
    apply = effects.families(catalog=default_catalog(), zone=BANGKOK)[effects.UPDATED].apply_batch
    build = MonthCloser._build
    committed_meanwhile = []

    async with sessions() as consumer:
        await apply(consumer, [outcome])  # the fact written as the consumer writes it, not committed yet

        async def read_then_commit(self, *, key, previous, now):  # noqa: ANN001, ANN202
            built = await build(self, key=key, previous=previous, now=now)
            if not committed_meanwhile:
                await consumer.commit()  # after the close read the first form's facts, before it files it
                committed_meanwhile.append(key)
            return built

        monkeypatch.setattr(MonthCloser, "_build", read_then_commit)
        first = await closer.close_due()
    monkeypatch.setattr(MonthCloser, "_build", build)

    assert sorted((r.form, r.version) for r in first) == [("snb2", 1), ("sp12", 1)]
    (form, _, _), = committed_meanwhile
    raced = next(r for r in first if r.form == form)
    assert "ผล:" not in raced.rows_json, "built from the facts read before the outcome committed"
    assert all("ผล:" in r.rows_json for r in first if r is not raced), "built after: the outcome is in"
    amended = await closer.close_due()
    assert [(r.form, r.version, r.kind) for r in amended] == [(form, 2, "amendment")], "committed after the read"
    changes = json.loads(amended[0].changes_json)
    assert [c["change"] for c in changes] == ["changed"] and "ผล:" in " ".join(changes[0]["after"])
    assert await closer.close_due() == [], "then nothing is left to amend"
