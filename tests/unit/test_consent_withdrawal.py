"""Withdrawing consent to the national drug-rehabilitation system (issue 15): recorded by whoever
took the person in, kept in intake, published on person.consents through the outbox, keyed by
person_ref; the national ID is hashed at once and found nowhere afterwards. Through the intake's
own API, in memory (no broker: the outbox rows are what the relay would send)."""

import logging
import random
from datetime import datetime

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy import select

from intake.api import intake_router
from intake.clerk_errors import validation_exception_handler
from intake.consent_withdrawal_api import PREFIX, consent_withdrawal_router
from intake.group_commit import GroupCommitter
from intake.models import TABLES, ConsentWithdrawal
from intake.submission import IntakeDesk
from shared import ids
from shared.auth import AuthContext, caller
from shared.auth.guard import install
from shared.catalog import default_catalog
from shared.contracts import PersonConsentWithdrawnV1
from shared.db import OutboxMessage, create_tables, make_engine, session_factory
from shared.topics import Topics
from tests.support.examples import intake_for, thai_national_id
from tests.support.sealing import MASTER_KEYS
from tests.support.tokens import LocalIssuer
from tests.support.relays import RelayLeftForLater

ISSUER = LocalIssuer()
NATIONAL_ID = "3640100456781"  # taken in by org unit 6406, living in subdistrict 640601 (province 64)
PERSON_REF = ids.person_ref(national_id=NATIONAL_ID, key="test-key")
CALLERS = {
    "clerk": ISSUER.headers("intake_clerk", subject="clerk-6406", org_units=("6406",)),
    "clerk_of_the_province": ISSUER.headers("intake_clerk", subject="clerk-64", provinces=("64",)),
    "clerk_elsewhere": ISSUER.headers("intake_clerk", subject="clerk-2401", org_units=("2401",)),
    "province": ISSUER.headers("provincial_office", subject="province-64", provinces=("64",)),
    "province_elsewhere": ISSUER.headers("provincial_office", subject="province-24", provinces=("24",)),
    "national": ISSUER.headers("national", subject="national"),
    "auditor": ISSUER.headers("auditor", subject="auditor"),
    "ops": ISSUER.headers("ops", subject="ops"),
    "officer": ISSUER.headers("agency_officer", subject="officer", agency="employment", provinces=("64",)),
}
REASON = "asked in person at the centre, 1 Dec 2026"


@pytest.fixture
async def intake(tmp_path):
    """(engine, HTTP client without a token, the relay), with the person taken in by clerk-6406."""
    engine = make_engine(f"sqlite:///{tmp_path}/intake.db")
    await create_tables(engine, TABLES)
    relay = RelayLeftForLater()
    desk = IntakeDesk(catalog=default_catalog(), sessions=session_factory(engine), relay=relay,
                      topics=Topics(prefix=""), person_ref_key="test-key", master_keys=MASTER_KEYS)
    app = FastAPI()
    for router in (intake_router(desk=desk, committer=GroupCommitter(desk=desk)), consent_withdrawal_router(desk=desk)):
        app.include_router(router, dependencies=[Depends(caller)])
    app.add_exception_handler(RequestValidationError, validation_exception_handler)
    install(app, context=AuthContext(service="intake", verifier=ISSUER.verifier))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        taken = await client.post("/v1/intakes", json=intake_for(NATIONAL_ID), headers=CALLERS["clerk"])
        assert taken.status_code == 202, taken.text
        yield engine, client, relay
    await engine.dispose()


async def withdraw(client: httpx.AsyncClient, who: str, national_id: str = NATIONAL_ID, **extra) -> httpx.Response:
    return await client.post(PREFIX, json={"national_id": national_id, "reason": REASON, **extra}, headers=CALLERS[who])


async def rows(engine, model) -> list:  # noqa: ANN001
    async with engine.connect() as connection:
        return [dict(row._mapping) for row in (await connection.execute(select(model.__table__)))]


async def consent_rows(engine) -> list[dict]:  # noqa: ANN001
    return [row for row in await rows(engine, OutboxMessage) if row["topic"] == "person.consents"]


@pytest.mark.parametrize("who", ["clerk", "clerk_of_the_province", "province"])
async def test_whoever_took_the_person_in_records_it_and_it_is_published_keyed_by_person_ref(intake, who, caplog):
    engine, client, relay = intake
    caplog.set_level(logging.DEBUG)
    answer = await withdraw(client, who, national_id="3-6401-00456-78-1")  # typed as on the card: the same person
    assert answer.status_code == 202, answer.text
    given = answer.json()
    assert given["consent"] == "national_system" and given["status_url"] == f"{PREFIX}/{given['withdrawal_id']}"
    assert relay.woken, "the outbox relay is told at once"

    [record] = await rows(engine, ConsentWithdrawal)
    assert (record["withdrawal_id"], record["person_ref"], record["scope"], record["reason"]) == (
        given["withdrawal_id"], PERSON_REF, "national_system", REASON)
    subject = {"clerk": "clerk-6406", "clerk_of_the_province": "clerk-64", "province": "province-64"}[who]
    assert record["withdrawn_by"] == subject, "the actor is the token's subject"

    [queued] = await consent_rows(engine)
    assert queued["key"] == PERSON_REF and queued["published_at"] is None
    event = PersonConsentWithdrawnV1.model_validate_json(queued["payload"])
    assert (event.withdrawal_id, event.person_ref, event.consent, event.withdrawn_by) == (
        given["withdrawal_id"], PERSON_REF, "national_system", subject)
    assert (event.event_type, event.schema_version, event.producer) == ("person.consent_withdrawn", 1, "intake")
    assert event.withdrawn_at == datetime.fromisoformat(given["withdrawn_at"])

    for where in (str(record), str(queued), answer.text, caplog.text):
        assert NATIONAL_ID not in where and "3-6401-00456-78-1" not in where


@pytest.mark.parametrize("who", ["clerk_elsewhere", "province_elsewhere"])
async def test_a_person_not_taken_in_in_the_callers_places_does_not_exist_for_it(intake, who):
    engine, client, _relay = intake
    answer = await withdraw(client, who)
    assert answer.status_code == 404
    assert answer.json()["detail"] == "No person with this national ID taken in by your org units or provinces"
    assert await rows(engine, ConsentWithdrawal) == [] and await consent_rows(engine) == []


async def test_someone_never_taken_in_is_404_like_someone_taken_in_elsewhere(intake):
    _engine, client, _relay = intake
    never_taken_in = thai_national_id(random.Random(7))
    assert never_taken_in != NATIONAL_ID
    assert (await withdraw(client, "clerk", national_id=never_taken_in)).status_code == 404


@pytest.mark.parametrize("who", ["national", "auditor", "ops", "officer"])
async def test_only_the_clerk_and_the_provincial_office_may_record_it(intake, who):
    engine, client, _relay = intake
    assert (await withdraw(client, who)).status_code == 403
    assert await rows(engine, ConsentWithdrawal) == []


async def test_who_withdrew_comes_from_the_token_never_the_body(intake):
    engine, client, _relay = intake
    answer = await withdraw(client, "clerk", withdrawn_by="someone-else")
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["withdrawn_by"]
    assert await rows(engine, ConsentWithdrawal) == []


async def test_a_mistyped_id_is_refused_with_the_intakes_own_reason_and_nothing_is_recorded(intake):
    engine, client, _relay = intake
    answer = await withdraw(client, "clerk", national_id="3640100456782")
    assert answer.status_code == 422
    refused = answer.json()
    assert refused["detail"].startswith("The request was not accepted")
    [error] = refused["errors"]
    assert error["field"] == "national_id" and "check" in error["reason"] and error["reason_th"]
    assert await rows(engine, ConsentWithdrawal) == []


async def test_a_withdrawal_is_read_back_by_those_who_may_record_it_national_and_the_auditor(intake):
    _engine, client, _relay = intake
    given = (await withdraw(client, "clerk")).json()
    answers = {who: await client.get(given["status_url"], headers=headers) for who, headers in CALLERS.items()}
    assert {who: answer.status_code for who, answer in answers.items()} == {
        "clerk": 200, "clerk_of_the_province": 200, "clerk_elsewhere": 404, "province": 200,
        "province_elsewhere": 404, "national": 200, "auditor": 200, "ops": 403, "officer": 403}
    shown = answers["auditor"].json()
    assert shown == {"withdrawal_id": given["withdrawal_id"], "consent": "national_system",
                     "withdrawn_at": given["withdrawn_at"], "withdrawn_by": "clerk-6406", "reason": REASON}
    assert (await client.get(f"{PREFIX}/00000000-0000-4000-8000-000000000000", headers=CALLERS["national"])
            ).status_code == 404


async def test_each_withdrawal_is_kept_and_published_on_its_own(intake):
    """A repeated withdrawal (a retry, or the person saying so again) changes nothing for the feed:
    both are kept, in order, on the person's key."""
    engine, client, _relay = intake
    first, second = [(await withdraw(client, who)).json()["withdrawal_id"] for who in ("clerk", "province")]
    assert first != second
    assert [PersonConsentWithdrawnV1.model_validate_json(row["payload"]).withdrawal_id
            for row in await consent_rows(engine)] == [first, second]
