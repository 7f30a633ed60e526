"""Consent to the national drug-rehabilitation system บสต. (issue 15): a separate consent item,
asked only of rehabilitation and CI-centre intakes, additive to intake.submitted v2. Left out it
means "not asked" (no consent), so clients and records from before it keep working."""

import copy
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy import select

from intake.api import intake_router
from intake.bulk.columns import match_headers
from intake.bulk.rows import RowDefaults, answer_problems, prepare, sheet_row
from intake.clerk_errors import validation_exception_handler
from intake.domain import national_consent_error
from intake.group_commit import GroupCommitter
from intake.models import TABLES, IntakeRecord
from intake.request import IntakeRequest
from intake.scope import Submitter
from intake.submission import Answer, IntakeDesk
from shared.auth import AuthContext, caller
from shared.auth.guard import install
from shared.catalog import default_catalog
from shared.contracts import IntakeSubmittedV2
from shared.db import OutboxMessage, create_tables, make_engine, session_factory
from shared.topics import Topics
from tests.support.examples import CONTRACT_DIR, contract_example, intake_event
from tests.support.sealing import MASTER_KEYS
from tests.support.tokens import LocalIssuer
from tests.support.relays import RelayLeftForLater

ISSUER = LocalIssuer()
CLERK = ISSUER.headers("intake_clerk", subject="clerk-6406", org_units=("6406",))
ASKED_OF = ("rehab_center", "ci_center")
NOT_ASKED_OF = ("tpmap", "informal_labour_unit", "walk_in")


def body(program: str, *, national: bool | None = None) -> dict:
    sent = copy.deepcopy(contract_example())
    sent["source"]["program"] = program
    if national is not None:
        sent["consent"]["share_with_national_system"] = national
    return sent


@pytest.fixture
async def intake(tmp_path):
    """(engine, HTTP client of the intake API as clerk-6406), in memory: no broker."""
    engine = make_engine(f"sqlite:///{tmp_path}/intake.db")
    await create_tables(engine, TABLES)
    desk = IntakeDesk(catalog=default_catalog(), sessions=session_factory(engine), relay=RelayLeftForLater(),
                      topics=Topics(prefix=""), person_ref_key="test-key", master_keys=MASTER_KEYS)
    app = FastAPI()
    app.include_router(intake_router(desk=desk, committer=GroupCommitter(desk=desk)), dependencies=[Depends(caller)])
    app.add_exception_handler(RequestValidationError, validation_exception_handler)
    install(app, context=AuthContext(service="intake", verifier=ISSUER.verifier))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake",
                                 headers=CLERK) as client:
        yield engine, client
    await engine.dispose()


async def published_consent(engine, intake_id: str) -> dict:  # noqa: ANN001
    """The consent of the intake.submitted event as queued on the outbox."""
    async with engine.connect() as connection:
        payload = (await connection.execute(select(OutboxMessage.payload).where(
            OutboxMessage.topic == "intake.submitted", OutboxMessage.key == intake_id))).scalar_one()
    return json.loads(payload)["consent"]


@pytest.mark.parametrize("program", ASKED_OF)
@pytest.mark.parametrize("national", [True, False])
async def test_a_rehabilitation_or_ci_intake_records_the_answer_and_publishes_it(intake, program, national):
    engine, client = intake
    answer = await client.post("/v1/intakes", json=body(program, national=national))
    assert answer.status_code == 202, answer.text
    intake_id = answer.json()["intake_id"]
    assert (await published_consent(engine, intake_id))["share_with_national_system"] is national
    shown = (await client.get(f"/v1/intakes/{intake_id}")).json()
    assert shown["consent"]["share_with_national_system"] is national


@pytest.mark.parametrize("program", NOT_ASKED_OF)
@pytest.mark.parametrize("national", [True, False])
async def test_another_programme_giving_it_is_refused_on_the_field_saying_whom_it_asks(intake, program, national):
    engine, client = intake
    answer = await client.post("/v1/intakes", json=body(program, national=national))
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert (error["field"], error["value"]) == ("consent.share_with_national_system", national)
    assert "asked only of rehabilitation and CI-centre intakes" in error["reason"]
    assert f"this intake is from {program}" in error["reason"]
    assert "Leave share_with_national_system out" in error["reason"]
    assert "บสต." in error["reason_th"] and "ศูนย์พักคอย" in error["reason_th"]
    async with engine.connect() as connection:
        assert (await connection.execute(select(IntakeRecord.intake_id))).all() == [], "nothing stored"


@pytest.mark.parametrize("program", [*ASKED_OF, *NOT_ASKED_OF])
async def test_left_out_it_is_not_asked_which_is_no_consent_and_the_intake_is_taken(intake, program):
    engine, client = intake
    answer = await client.post("/v1/intakes", json=body(program))
    assert answer.status_code == 202, answer.text
    assert (await published_consent(engine, answer.json()["intake_id"]))["share_with_national_system"] is None


async def test_the_team_contract_example_is_still_taken_as_it_is(intake):
    _engine, client = intake
    team_example = json.loads((CONTRACT_DIR / "intake-example.json").read_text(encoding="utf-8"))
    assert "share_with_national_system" not in team_example["consent"]
    assert (await client.post("/v1/intakes", json=team_example)).status_code == 202


async def test_it_must_be_a_yes_or_no(intake):
    _engine, client = intake
    answer = await client.post("/v1/intakes", json=body("rehab_center", national="perhaps"))
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["consent.share_with_national_system"]


def test_an_intake_submitted_v2_record_from_before_the_field_still_validates_as_not_asked():
    recorded = json.loads(intake_event().model_dump_json())
    del recorded["consent"]["share_with_national_system"]
    old = IntakeSubmittedV2.model_validate(recorded)
    assert old.schema_version == 2 and old.consent.share_with_national_system is None


def test_the_rule_needs_no_catalog_and_passes_what_it_does_not_concern():
    assert national_consent_error(request=IntakeRequest.model_validate(body("walk_in"))) is None
    assert national_consent_error(request=IntakeRequest.model_validate(body("ci_center", national=True))) is None


# -- the sheet: the same item as an optional column -------------------------------------------------

BANGKOK = ZoneInfo("Asia/Bangkok")
DEFAULTS = RowDefaults(consent_recorded_at=datetime(2026, 11, 20, 14, 0, tzinfo=BANGKOK), zone=BANGKOK,
                       submitter=Submitter("clerk-subject", org_units=frozenset({"6406"})))
HEADER = ["โครงการต้นทาง", "หน่วยงาน", "ผู้รายงาน", "เลขประจำตัวประชาชน", "ชื่อ-นามสกุล", "ประเภทแรงงาน", "รหัสตำบล",
          "ความต้องการ", "ยินยอมให้ส่งต่อข้อมูล", "ยินยอมให้ส่งข้อมูลแก่ระบบ บสต."]
MATCH = match_headers(HEADER)


def sheet(program: str, national: str) -> tuple:
    values = [program, "6406", "officer-0017", "3640100456781", "สมชาย ใจดี", "แรงงานนอกระบบ", "640601",
              "job_registration", "ใช่", national]
    row = sheet_row(2, values, match=MATCH)
    return row, prepare(row, match=MATCH, defaults=DEFAULTS, job_id="job-1")


def test_a_sheet_column_records_it_and_an_empty_cell_is_not_asked():
    assert MATCH.problems == [] and "consent_national_system" in MATCH.positions
    assert sheet("rehab_center", "ใช่")[1].submission.request.consent.share_with_national_system is True
    assert sheet("ci_center", "ไม่ใช่")[1].submission.request.consent.share_with_national_system is False
    assert sheet("rehab_center", "")[1].submission.request.consent.share_with_national_system is None


def test_a_sheet_row_of_another_programme_with_it_is_refused_on_that_column():
    row, prepared = sheet("walk_in", "ใช่")
    error = national_consent_error(request=prepared.submission.request)
    [problem] = answer_problems(Answer(422, {"errors": [error]}), row=row, match=MATCH)
    assert (problem.column, problem.value) == ("ยินยอมให้ส่งข้อมูลแก่ระบบ บสต.", "ใช่")
    assert "asked only of rehabilitation and CI-centre intakes" in problem.reason
