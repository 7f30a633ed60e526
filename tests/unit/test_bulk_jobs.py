"""Bulk intake jobs on an SQLite file, without a broker: the upload API, the worker, resuming
after a crash without duplicates, and failing a job with its reason. Every call carries a real
token (tests.support.tokens), checked by the same guard as the service's; who may upload and
who may follow a job is tested here too."""

import csv
import io
from pathlib import Path

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlmodel import func, select

from intake.bulk import worker as worker_module
from intake.bulk.api import bulk_router
from intake.bulk.models import TABLES as BULK_TABLES
from intake.bulk.models import BulkErrorRecord, BulkJobRecord
from intake.bulk.settings import BulkSettings
from intake.bulk.worker import BulkWorker
from intake.models import TABLES, IdempotencyRecord, IntakeRecord
from intake.submission import IntakeDesk
from shared.auth import AuthContext, caller
from shared.auth.guard import install
from shared.catalog import default_catalog
from shared.db import create_tables, make_engine, session_factory
from shared.topics import Topics
from tests.support.examples import thai_national_id
from tests.support.tokens import LocalIssuer
from tests.support.sealing import MASTER_KEYS
from tests.support.relays import RelayLeftForLater

ISSUER = LocalIssuer()
CLERK = ISSUER.headers("intake_clerk", subject="clerk-6406", org_units=("6406",))

HEADER = "\ufeffprogram,org_unit,reported_by,national_id,full_name,worker_type,subdistrict_code,needs,consent_to_share,remarks\n"


class Crash(BaseException):
    """Stands for the process dying: nothing in the worker catches it."""


def sheet_text(rows: int, *, bad_every: int = 0, seed: int = 7, org_units: dict[int, str] | None = None) -> str:
    """`org_units`: sheet row -> an org unit other than 6406 for that row."""
    import random

    rng = random.Random(seed)
    lines = [HEADER]
    for number in range(2, rows + 2):
        nid = thai_national_id(rng)
        if bad_every and number % bad_every == 0:
            nid = nid[:12] + str((int(nid[12]) + 1) % 10)
        unit = (org_units or {}).get(number, "6406")
        lines.append(f"walk_in,{unit},officer-1,{nid},สมชาย ใจดี,informal,640601,job_registration;skill_training,ใช่,x\n")
    return "".join(lines)


@pytest.fixture
async def bulk(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/intake.db")
    await create_tables(engine, [*TABLES, *BULK_TABLES])
    desk = IntakeDesk(catalog=default_catalog(), sessions=session_factory(engine), relay=RelayLeftForLater(),
                      topics=Topics(prefix=""), person_ref_key="test-key",
                      master_keys=MASTER_KEYS)
    settings = BulkSettings(upload_dir=tmp_path / "uploads", batch_size=5, max_upload_bytes=200_000,
                            lease_seconds=0.01)
    worker = BulkWorker(desk=desk, settings=settings)
    # As the service mounts it (shared.service.create_app): every route behind the guard.
    app = FastAPI()
    app.include_router(bulk_router(sessions=desk.sessions, settings=settings, worker=worker),
                       dependencies=[Depends(caller)])
    install(app, context=AuthContext(service="intake", verifier=ISSUER.verifier))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake",
                                 headers=CLERK) as client:
        yield client, worker, desk, settings
    await engine.dispose()


async def upload(client: httpx.AsyncClient, text: str | bytes, *, name: str = "sheet.csv", key: str | None = None,
                 auth: dict[str, str] | None = None):
    data = text.encode() if isinstance(text, str) else text
    headers = ({"Idempotency-Key": key} if key else {}) | (auth or {})
    return await client.post("/v1/intakes/bulk", files={"file": (name, data, "text/csv")}, headers=headers)


async def run_next(worker: BulkWorker) -> None:
    job = await worker._claim()
    assert job is not None
    await worker.run_job(job)


async def count(desk: IntakeDesk, model) -> int:  # noqa: ANN001
    async with desk.sessions() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_an_uploaded_sheet_runs_as_a_job_with_counts_and_an_error_report(bulk):
    client, worker, desk, settings = bulk
    answer = await upload(client, sheet_text(12, bad_every=4))
    assert answer.status_code == 202
    assert answer.headers["location"] == answer.json()["status_url"]
    assert (await client.get(answer.json()["status_url"])).json()["state"] == "queued"

    await run_next(worker)

    status = (await client.get(answer.json()["status_url"])).json()
    assert (status["state"], status["rows_read"], status["accepted"], status["refused"]) == ("done", 12, 9, 3)
    assert status["sheet_rows"] == status["rows_done"] == 13
    assert status["warnings"] == ["Columns not used (not part of the intake form): remarks"]
    assert await count(desk, IntakeRecord) == 9
    assert list(settings.upload_dir.iterdir()) == [], "the sheet is deleted once its job is done"

    report = await client.get(status["errors_url"])
    assert report.headers["content-type"].startswith("text/csv")
    assert report.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines[0] == ["row", "column", "value", "reason", "reason_th"]
    assert [(line[0], line[1]) for line in lines[1:]] == [("4", "national_id"), ("8", "national_id"), ("12", "national_id")]


async def test_a_job_resumed_after_a_crash_submits_nothing_twice(bulk, monkeypatch):
    client, worker, desk, _settings = bulk
    answer = await upload(client, sheet_text(12, bad_every=5))
    recorded = worker_module.repository.record_batch
    calls = 0

    async def dies_before_recording_the_second_batch(session, **arguments):  # noqa: ANN001, ANN003
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Crash  # the batch's intakes are committed; its progress is not
        return await recorded(session, **arguments)

    monkeypatch.setattr(worker_module.repository, "record_batch", dies_before_recording_the_second_batch)
    with pytest.raises(Crash):
        await run_next(worker)
    status = (await client.get(answer.json()["status_url"])).json()
    assert (status["state"], status["rows_done"], status["accepted"]) == ("running", 6, 4)
    assert await count(desk, IntakeRecord) == 8, "the second batch (rows 7-11, row 10 bad) was submitted"

    monkeypatch.setattr(worker_module.repository, "record_batch", recorded)
    successor = BulkWorker(desk=desk, settings=worker._settings)  # a new process, after the lease ran out
    await run_next(successor)

    status = (await client.get(answer.json()["status_url"])).json()
    assert (status["state"], status["rows_read"], status["accepted"], status["refused"]) == ("done", 12, 10, 2)
    assert await count(desk, IntakeRecord) == 10, "replayed rows answered from their Idempotency-Key"
    assert await count(desk, IdempotencyRecord) == 10
    assert await count(desk, BulkErrorRecord) == 2


async def test_a_missing_required_column_fails_the_job_up_front_listing_the_headers(bulk):
    client, worker, desk, _settings = bulk
    answer = await upload(client, "program,org_unit,full_name\nwalk_in,6406,สมชาย\n")
    await run_next(worker)
    status = (await client.get(answer.json()["status_url"])).json()
    assert status["state"] == "failed"
    assert "Missing required columns: reported_by (ผู้รายงาน), national_id (เลขประจำตัวประชาชน)" in status["failure"]
    assert "Expected headers, Thai or English" in status["failure"]
    assert status["rows_read"] == 0 and await count(desk, IntakeRecord) == 0


async def test_a_file_that_is_not_utf8_fails_with_how_to_save_it(bulk):
    client, worker, _desk, _settings = bulk
    answer = await upload(client, sheet_text(3).replace("\ufeff", "").encode("cp874"))
    await run_next(worker)
    status = (await client.get(answer.json()["status_url"])).json()
    assert status["state"] == "failed" and "CSV UTF-8" in status["failure"]


async def test_a_job_that_crashes_is_failed_with_the_reason(bulk, monkeypatch):
    client, worker, _desk, settings = bulk

    async def broken(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("the desk is on fire")

    monkeypatch.setattr(worker_module, "submit_many", broken)
    answer = await upload(client, sheet_text(3))
    await run_next(worker)
    status = (await client.get(answer.json()["status_url"])).json()
    assert status["state"] == "failed"
    assert "RuntimeError: the desk is on fire" in status["failure"]
    assert list(settings.upload_dir.iterdir()) == []


async def test_a_retried_upload_with_the_same_key_returns_the_same_job(bulk):
    client, _worker, _desk, settings = bulk
    first = await upload(client, sheet_text(3), key="sheet-1")
    again = await upload(client, sheet_text(3), key="sheet-1")
    assert again.status_code == 202 and again.json()["job_id"] == first.json()["job_id"]
    other = await upload(client, sheet_text(4), key="sheet-1")
    assert other.status_code == 409
    assert len(list(settings.upload_dir.iterdir())) == 1, "the repeated uploads left no file behind"


async def test_uploads_that_cannot_be_a_job_are_refused_and_leave_nothing(bulk):
    client, _worker, _desk, settings = bulk
    too_big = await upload(client, "x" * 300_000)
    assert too_big.status_code == 413 and "MiB" in too_big.json()["detail"]
    not_multipart = await client.post("/v1/intakes/bulk", content=b"a,b\n", headers={"content-type": "text/csv"})
    assert not_multipart.status_code == 415
    empty = await upload(client, b"")
    assert empty.status_code == 422
    old_excel = await upload(client, bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 100, name="sheet.xls")
    assert old_excel.status_code == 422 and ".xlsx" in old_excel.json()["detail"]
    wrong_field = await client.post("/v1/intakes/bulk", files={"sheet": ("a.csv", b"a,b\n")})
    assert wrong_field.status_code == 422
    assert list(Path(settings.upload_dir).iterdir()) == []


async def test_an_unknown_job_is_404(bulk):
    client, *_ = bulk
    assert (await client.get("/v1/intake-jobs/nope")).json() == {"detail": "No bulk intake job with id nope"}
    assert (await client.get("/v1/intake-jobs/nope/errors.csv")).status_code == 404


async def test_a_typed_formula_is_shown_as_text_in_the_report(bulk):
    client, worker, *_ = bulk
    line = 'walk_in,6406,officer-1,"=HYPERLINK(""http://x"")",สมชาย ใจดี,informal,640601,job_registration,ใช่,\n'
    answer = await upload(client, HEADER + line)
    await run_next(worker)
    report = (await client.get(f"{answer.json()['status_url']}/errors.csv")).content.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(report)))[1][:3] == ["2", "national_id", "'=HYPERLINK(\"http://x\")"]


async def test_an_upload_cut_off_before_its_end_is_refused(bulk):
    client, _worker, _desk, settings = bulk
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="s.csv"\r\n\r\nprogram,org_unit\r\nwalk_in,64'
    cut = await client.post("/v1/intakes/bulk", content=body, headers={"content-type": "multipart/form-data; boundary=b"})
    assert cut.status_code == 400 and "cut off" in cut.json()["detail"]
    assert list(settings.upload_dir.iterdir()) == []


async def test_rows_of_an_org_unit_the_clerk_does_not_cover_are_refused_and_the_others_go_through(bulk):
    client, worker, desk, _settings = bulk
    answer = await upload(client, sheet_text(6, org_units={3: "2401", 6: "6401"}))
    await run_next(worker)
    status = (await client.get(answer.json()["status_url"])).json()
    assert (status["state"], status["accepted"], status["refused"]) == ("done", 4, 2)
    assert status["submitted_by"] == "clerk-6406"

    report = (await client.get(status["errors_url"])).content.decode("utf-8-sig")
    lines = list(csv.DictReader(io.StringIO(report)))
    assert [(line["row"], line["column"], line["value"]) for line in lines] == [("3", "org_unit", "2401"),
                                                                                 ("6", "org_unit", "6401")]
    assert "only for org unit 6406" in lines[0]["reason"] and "a clerk of 2401" in lines[0]["reason"]
    assert "6406" in lines[0]["reason_th"]
    async with desk.sessions() as session:
        stored = (await session.exec(select(IntakeRecord))).all()
    assert {(r.org_unit, r.submitted_by) for r in stored} == {("6406", "clerk-6406")}


async def test_the_job_keeps_the_uploaders_scope_from_the_token(bulk):
    client, worker, desk, _settings = bulk
    provincial_clerk = ISSUER.headers("intake_clerk", subject="clerk-64", org_units=("2401",), provinces=("64",))
    answer = await upload(client, sheet_text(4, org_units={2: "6401", 3: "2401", 4: "4001"}), auth=provincial_clerk)
    async with desk.sessions() as session:
        job = await session.get(BulkJobRecord, answer.json()["job_id"])
    assert (job.submitted_by, job.submitter_org_units, job.submitter_provinces) == ("clerk-64", '["2401"]', '["64"]')
    await run_next(worker)
    status = (await client.get(answer.json()["status_url"], headers=provincial_clerk)).json()
    assert (status["accepted"], status["refused"]) == (3, 1), "6401 and 6406 by the province, 2401 by the unit"


async def test_a_job_is_seen_by_its_uploader_their_provincial_office_and_national_only(bulk):
    client, worker, *_ = bulk
    answer = await upload(client, sheet_text(3, bad_every=2))
    await run_next(worker)
    job_url = answer.json()["status_url"]
    job_id = answer.json()["job_id"]
    seen = {
        "uploader": CLERK,
        "province 64": ISSUER.headers("provincial_office", subject="p64", provinces=("64",)),
        "national": ISSUER.headers("national", subject="n"),
    }
    for who, headers in seen.items():
        assert (await client.get(job_url, headers=headers)).status_code == 200, who
        assert (await client.get(f"{job_url}/errors.csv", headers=headers)).status_code == 200, who
    hidden = {
        "another clerk of the same unit": ISSUER.headers("intake_clerk", subject="clerk-b", org_units=("6406",)),
        "a clerk of another unit": ISSUER.headers("intake_clerk", subject="clerk-2401", org_units=("2401",)),
        "province 24": ISSUER.headers("provincial_office", subject="p24", provinces=("24",)),
    }
    for who, headers in hidden.items():
        for url in (job_url, f"{job_url}/errors.csv"):
            refused = await client.get(url, headers=headers)
            assert refused.status_code == 404, who
            assert refused.json() == {"detail": f"No bulk intake job with id {job_id}"}, "as if there were none"
    officer = ISSUER.headers("agency_officer", subject="o", agency="employment", provinces=("64",))
    assert (await client.get(job_url, headers=officer)).status_code == 403
    assert (await client.get(job_url, headers={"Authorization": ""})).status_code == 401


async def test_a_provincial_office_sees_a_job_only_when_it_covers_every_province_of_the_uploader(bulk):
    client, *_ = bulk
    two_provinces = ISSUER.headers("intake_clerk", subject="clerk-2", org_units=("6406", "2401"))
    job_url = (await upload(client, sheet_text(2), auth=two_provinces)).json()["status_url"]
    province_64 = ISSUER.headers("provincial_office", subject="p64", provinces=("64",))
    both = ISSUER.headers("provincial_office", subject="p", provinces=("64", "24"))
    assert (await client.get(job_url, headers=province_64)).status_code == 404
    assert (await client.get(job_url, headers=both)).status_code == 200


async def test_only_an_intake_clerk_may_upload_a_sheet(bulk):
    client, _worker, _desk, settings = bulk
    for role, scope in [("provincial_office", {"provinces": ("64",)}), ("national", {}), ("ops", {}),
                        ("agency_officer", {"agency": "employment", "provinces": ("64",)})]:
        refused = await upload(client, sheet_text(2), auth=ISSUER.headers(role, **scope))
        assert refused.status_code == 403, role
        assert "intake_clerk" in refused.json()["detail"]
    assert (await upload(client, sheet_text(2), auth={"Authorization": ""})).status_code == 401
    expired = {"Authorization": f"Bearer {ISSUER.mint(roles=('intake_clerk',), org_units=('6406',), lifetime=-120)}"}
    assert (await upload(client, sheet_text(2), auth=expired)).status_code == 401
    assert not settings.upload_dir.exists(), "nothing was received"


async def test_another_users_idempotency_key_does_not_hand_over_their_job(bulk):
    client, *_ = bulk
    first = await upload(client, sheet_text(3), key="sheet-1")
    colleague = ISSUER.headers("intake_clerk", subject="clerk-b", org_units=("6406",))
    again = await upload(client, sheet_text(3), key="sheet-1", auth=colleague)
    assert again.status_code == 409 and first.json()["job_id"] not in again.text
