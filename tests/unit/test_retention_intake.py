"""Intake's retention rules (services/intake/retention.py) on an SQLite file with a controlled
clock: a finished sheet's error report and then its job, sheets left behind on disk, stored
answers to Idempotency-Keys, and the person in an intake whose referrals have long been closed,
written and read back through the intake's own API."""

import os
import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy import func, insert, select, update

from intake.api import intake_router
from intake.bulk.models import TABLES as BULK_TABLES, BulkErrorRecord, BulkJobRecord
from intake.bulk.settings import BulkSettings
from intake.group_commit import GroupCommitter
from intake.models import TABLES, IdempotencyRecord, IntakeRecord, ReferralStatusRecord
from intake.retention import intake_purges
from intake.settings import IntakeSettings
from intake.submission import IntakeDesk
from shared.auth import AuthContext, caller
from shared.auth.guard import install
from shared.catalog import default_catalog
from shared.db import create_tables, make_engine, session_factory
from shared.db.retention import Purger
from shared.retention.settings import RetentionSettings
from shared.topics import Topics
from tests.support.examples import intake_for, thai_national_id
from tests.support.tokens import LocalIssuer
from tests.support.sealing import MASTER_KEYS
from tests.support.relays import RelayLeftForLater

ISSUER = LocalIssuer()
CLERK = ISSUER.headers("intake_clerk", subject="clerk-6406", org_units=("6406",))
NOW = datetime(2027, 6, 1, 3, 0, tzinfo=UTC)
JOBS, ERRORS = BulkJobRecord.__table__, BulkErrorRecord.__table__
INTAKES, STATUSES = IntakeRecord.__table__, ReferralStatusRecord.__table__


@pytest.fixture
async def intake(tmp_path):
    """(engine, purger factory, HTTP client of the intake API as clerk-6406)."""
    engine = make_engine(f"sqlite:///{tmp_path}/intake.db")
    await create_tables(engine, [*TABLES, *BULK_TABLES])
    settings = IntakeSettings(bulk=BulkSettings(upload_dir=tmp_path / "uploads"),
                              retention=RetentionSettings(bulk_job_days=30, idempotency_days=30,
                                                          closed_referral_days=365))
    desk = IntakeDesk(catalog=default_catalog(), sessions=session_factory(engine), relay=RelayLeftForLater(),
                      topics=Topics(prefix=""), person_ref_key="test-key", master_keys=MASTER_KEYS)
    app = FastAPI()
    app.include_router(intake_router(desk=desk, committer=GroupCommitter(desk=desk)), dependencies=[Depends(caller)])
    install(app, context=AuthContext(service="intake", verifier=ISSUER.verifier))

    def purger(**kwargs) -> Purger:  # noqa: ANN003
        return Purger(engine=engine, purges=intake_purges(settings), **kwargs)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake",
                                 headers=CLERK) as client:
        yield engine, purger, client, settings
    await engine.dispose()


def job(job_id: str, *, state: str, finished: timedelta | None) -> dict:
    return {"job_id": job_id, "state": state, "filename": f"{job_id} สมชาย.csv", "file_path": f"/gone/{job_id}.csv",
            "file_kind": "csv", "file_bytes": 10, "file_sha256": "0" * 64, "received_at": NOW - timedelta(days=60),
            "finished_at": None if finished is None else NOW - finished}


def errors(job_id: str, count: int) -> list[dict]:
    return [{"job_id": job_id, "row": n + 2, "column_header": "national_id", "value": "3640100456781",
             "reason": "bad check digit", "reason_th": "เลขไม่ถูกต้อง"} for n in range(count)]


async def add(engine, table, rows) -> None:  # noqa: ANN001
    async with engine.begin() as connection:
        await connection.execute(insert(table), rows)


async def scalars(engine, query) -> list:  # noqa: ANN001
    async with engine.connect() as connection:
        return sorted((await connection.execute(query)).scalars())


async def test_a_finished_sheets_error_report_goes_after_the_period_and_then_its_job(intake):
    engine, purger, _client, _settings = intake
    await add(engine, JOBS, [job("done-old", state="done", finished=timedelta(days=31)),
                             job("failed-old", state="failed", finished=timedelta(days=40)),
                             job("done-young", state="done", finished=timedelta(days=29)),
                             job("running", state="running", finished=None),
                             job("queued", state="queued", finished=None)])
    await add(engine, ERRORS, [*errors("done-old", 5), *errors("done-young", 2), *errors("running", 1)])

    counts = await purger(chunk_rows=2).run_once(now=NOW)

    assert (counts["intake.bulk_errors"], counts["intake.bulk_jobs"]) == (5, 2)
    assert await scalars(engine, select(JOBS.c.job_id)) == ["done-young", "queued", "running"]
    assert await scalars(engine, select(ERRORS.c.job_id).distinct()) == ["done-young", "running"]
    assert (await purger().run_once(now=NOW))["intake.bulk_jobs"] == 0


async def test_a_sheet_left_on_disk_goes_after_the_period_unless_a_job_still_needs_it(intake):
    engine, purger, _client, settings = intake
    folder = settings.bulk.upload_dir
    folder.mkdir()
    await add(engine, JOBS, [job("waiting", state="queued", finished=None),
                             job("ended", state="done", finished=timedelta(days=1))])
    old, young = (NOW - timedelta(days=31)).timestamp(), (NOW - timedelta(days=29)).timestamp()
    for name, moment in [("ended.csv", old), ("cut-off.upload", old), ("waiting.xlsx", old), ("fresh.csv", young)]:
        (folder / name).write_text("national_id\n3640100456781\n")
        os.utime(folder / name, (moment, moment))

    assert (await purger().run_once(now=NOW))["intake.bulk_uploads"] == 2
    assert sorted(path.name for path in folder.iterdir()) == ["fresh.csv", "waiting.xlsx"]


async def test_stored_answers_to_idempotency_keys_go_after_the_period(intake):
    engine, purger, _client, _settings = intake
    answers = IdempotencyRecord.__table__
    await add(engine, answers, [{"key": f"k{days}", "request_hash": "h", "status_code": 202, "response_json": "{}",
                                 "created_at": NOW - timedelta(days=days)} for days in (31, 30, 1)])
    assert (await purger().run_once(now=NOW))["intake.idempotency"] == 1
    assert await scalars(engine, select(answers.c.key)) == ["k1", "k30"]


async def submit(client: httpx.AsyncClient, national_id: str, needs: list[str] | None = None) -> str:
    answer = await client.post("/v1/intakes", json=intake_for(national_id, needs=needs))
    assert answer.status_code == 202, answer.text
    return answer.json()["intake_id"]


async def close_referrals(engine, intake_id: str, *, at: datetime, status: str = "completed") -> None:  # noqa: ANN001
    """As the status consumer records them (intake/statuses.py stamps each change)."""
    async with engine.begin() as connection:
        await connection.execute(update(STATUSES).where(STATUSES.c.intake_id == intake_id)
                                 .values(status=status, status_version=5, updated_at=at))


async def test_an_intakes_person_goes_once_every_referral_has_been_closed_for_the_period(intake):
    engine, purger, client, _settings = intake
    ids = [thai_national_id(random.Random(seed)) for seed in range(4)]
    closed_long_ago, still_open, closed_lately = [await submit(client, national_id) for national_id in ids[:3]]
    served_at_intake = await submit(client, ids[3], needs=["drug_prevention_outreach"])
    await close_referrals(engine, closed_long_ago, at=NOW - timedelta(days=366))
    await close_referrals(engine, still_open, at=NOW - timedelta(days=400))
    async with engine.begin() as connection:  # one referral of it is still being worked on
        first = (await connection.execute(select(STATUSES.c.referral_id).where(
            STATUSES.c.intake_id == still_open).limit(1))).scalar_one()
        await connection.execute(update(STATUSES).where(STATUSES.c.referral_id == first).values(status="accepted"))
        await connection.execute(update(INTAKES).where(INTAKES.c.intake_id == served_at_intake)
                                 .values(received_at=NOW - timedelta(days=366)))
    await close_referrals(engine, closed_lately, at=NOW - timedelta(days=364), status="declined")
    before = (await client.get(f"/v1/intakes/{closed_long_ago}")).json()

    assert (await purger().run_once(now=NOW))["intake.person"] == 2
    assert (await purger().run_once(now=NOW))["intake.person"] == 0

    for purged in (closed_long_ago, served_at_intake):
        view = (await client.get(f"/v1/intakes/{purged}")).json()
        assert view["person"] is None
    after = (await client.get(f"/v1/intakes/{closed_long_ago}")).json()
    assert {k: v for k, v in after.items() if k != "person"} == {k: v for k, v in before.items() if k != "person"}
    for kept in (still_open, closed_lately):
        assert (await client.get(f"/v1/intakes/{kept}")).json()["person"]["national_id"]
    async with engine.connect() as connection:
        stored = (await connection.execute(select(INTAKES.c.event_json).where(
            INTAKES.c.intake_id == closed_long_ago))).scalar_one()
        assert ids[0] not in stored and "สมชาย" not in stored
        assert (await connection.execute(select(func.count()).select_from(INTAKES))).scalar() == 4
