"""Who sees and moves which agency referral, on SQLite and PostgreSQL, with real tokens
(LocalIssuer) against the agency adapters' own app (its routes, its guard, its database; no
broker: the referrals are stored as the consumers store them).

Seeded: employment and skills referrals of a person in Sukhothai (64), an employment referral
of a person in Chachoengsao (24), the skills ones pushed to the skills department's system."""

import json
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest

from agency_adapters import repository
from agency_adapters.main import build_app
from agency_adapters.models import TABLES
from agency_adapters.settings import AgencySettings
from agency_adapters.webhooks import store
from agency_adapters.webhooks.dispatcher import callback_url
from agency_adapters.webhooks.models import WebhookDelivery
from routing.domain import route_intake
from shared.auth import OidcSettings
from shared.auth.audit import TABLES as AUDIT_TABLES
from shared.catalog import default_catalog
from shared.contracts import ReferralAssignedV2
from shared.db import create_tables, make_engine, session_factory
from shared.delivery import store as deliveries
from shared.delivery.signing import NONCE_HEADER, SIGNATURE_HEADER, new_nonce, signature
from tests.support.examples import intake_event, intake_for
from tests.support.tokens import LocalIssuer
from tests.support.sealing import key_row

pytestmark = pytest.mark.integration

ISSUER = LocalIssuer()
SECRET = "skills-dept-shared-secret-0001"
PUBLIC_URL = "https://songtor.example/agency"  # a gateway prefix: the signed path is the callback_url's
SUKHOTHAI_ID, CHACHOENGSAO_ID = "3640100456781", "1240100012341"


def token(subject: str, *roles: str, **scope: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {ISSUER.mint(subject, roles=roles, **scope)}"}


def officer(agency: str, province: str = "64", *, head: bool = False) -> dict[str, str]:
    roles = ("agency_head", "agency_officer") if head else ("agency_officer",)
    return token(f"{'head' if head else 'officer'}-{agency}-{province}", *roles, agency=agency, provinces=(province,))


def office(province: str) -> dict[str, str]:
    return token(f"office-{province}", "provincial_office", provinces=(province,))


def assignments(national_id: str, subdistrict: str, intake_id: str) -> dict[str, ReferralAssignedV2]:
    intake = intake_event(intake_for(national_id, subdistrict=subdistrict), intake_id=intake_id)
    routed = route_intake(intake=intake, catalog=default_catalog(), routed_at=datetime.now(UTC))
    return {r.event.need_code: r.event for r in routed if isinstance(r.event, ReferralAssignedV2)}


class Adapters:
    def __init__(self, client: httpx.AsyncClient, second: httpx.AsyncClient, ids: dict[str, str]) -> None:
        self.client, self.second, self.ids = client, second, ids

    async def move(self, referral_id: str, headers: dict[str, str], **body: object) -> httpx.Response:
        return await self.client.post(f"/v1/referrals/{referral_id}/status", json=body, headers=headers)

    async def history(self, referral_id: str, headers: dict[str, str]) -> httpx.Response:
        return await self.client.get(f"/v1/referrals/{referral_id}/history", headers=headers)

    async def queue(self, agency: str, headers: dict[str, str]) -> httpx.Response:
        return await self.client.get(f"/v1/agencies/{agency}/referrals", headers=headers)


def app_on(url: str) -> httpx.AsyncClient:
    settings = AgencySettings(
        database_url=url, oidc=OidcSettings(issuer=ISSUER.issuer), public_url=PUBLIC_URL,
        webhooks={"skills": {"url": "https://dsd.example/songtor/referrals", "secret": SECRET}},
    )
    app = ISSUER.trust(build_app(settings))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://adapters")


@pytest.fixture
async def adapters(database_url):
    url = database_url("agency")
    engine = make_engine(url)
    await create_tables(engine, [*TABLES, *AUDIT_TABLES])
    sukhothai = assignments(SUKHOTHAI_ID, "640601", "00000000-0000-4000-8000-000000000064")
    chachoengsao = assignments(CHACHOENGSAO_ID, "240101", "00000000-0000-4000-8000-000000000024")
    now = datetime.now(UTC)
    async with session_factory(engine)() as session:
        events = [*sukhothai.values(), chachoengsao["job_registration"]]
        # The keys the adapters would have read on person.keys: they open the people shown.
        session.add_all([key_row(ref) for ref in {event.person_ref for event in events}])
        for event in events:
            repository.add_received(session, event=event, received_at=now)
            if event.agency == "skills":
                store.add_pending(session, referral_id=event.referral_id, agency="skills", at=now)
        await session.commit()
        await deliveries.record_attempt(session, table=WebhookDelivery, key=sukhothai["skill_training"].referral_id,
                                        attempts=8, state="parked", at=now, status_code=503,
                                        error="the agency system answered HTTP 503")
    ids = {
        "job": sukhothai["job_registration"].referral_id, "training": sukhothai["skill_training"].referral_id,
        "enrolment": sukhothai["ss_article40_enrolment"].referral_id,
        "job_24": chachoengsao["job_registration"].referral_id,
    }
    async with app_on(url) as client, app_on(url) as second:
        yield Adapters(client, second, ids)
    await engine.dispose()


async def test_the_queue_holds_the_callers_agency_in_the_callers_provinces(adapters):
    ids = adapters.ids
    for caller in (officer("employment"), officer("employment", head=True), office("64")):
        rows = (await adapters.queue("employment", caller)).json()["referrals"]
        assert [r["referral_id"] for r in rows] == [ids["job"]]
        assert rows[0]["province_code"] == "64" and rows[0]["person"]["national_id"] == SUKHOTHAI_ID
    for caller in (officer("employment", "24"), office("24")):
        assert [r["referral_id"] for r in (await adapters.queue("employment", caller)).json()["referrals"]] == [ids["job_24"]]

    other = await adapters.queue("employment", officer("skills"))
    assert other.status_code == 403 and "employment's queue" in other.json()["detail"]
    assert "you work for skills" in other.json()["detail"]
    assert (await adapters.queue("employment", token("n", "national"))).status_code == 403  # names: not national's
    assert (await adapters.queue("employment", token("o", "ops"))).status_code == 403
    assert (await adapters.client.get("/v1/agencies/employment/referrals")).status_code == 401
    # Each listing is in the audit log: who, which route, how many people (never who they are).
    reads = (await adapters.client.get("/v1/audit/reads", headers=token("a", "auditor"))).json()["reads"]
    listings = [r for r in reads if r["route"] == "/v1/agencies/{agency}/referrals"]
    assert sorted((r["actor"], r["people"]) for r in listings) == sorted([
        ("officer-employment-64", 1), ("head-employment-64", 1), ("office-64", 1),
        ("officer-employment-24", 1), ("office-24", 1)])
    assert SUKHOTHAI_ID not in json.dumps(reads)


async def test_officers_make_their_agencys_moves_and_the_actor_is_the_tokens_subject(adapters):
    job = adapters.ids["job"]
    absent = await adapters.move("no-such-referral", officer("skills"), status="accepted")
    hidden = await adapters.move(job, officer("skills"), status="accepted")
    assert (hidden.status_code, absent.status_code) == (404, 404)
    assert hidden.json()["detail"] == absent.json()["detail"].replace("no-such-referral", job)
    assert (await adapters.move(job, officer("employment", "24"), status="accepted")).status_code == 404

    forged = await adapters.move(job, officer("employment"), status="accepted", actor="someone-else")
    assert forged.status_code == 422 and "actor" in forged.text
    assert (await adapters.move(job, officer("employment"), status="accepted")).status_code == 200
    assert (await adapters.move(job, officer("employment", head=True), status="in_progress")).status_code == 200

    moves = (await adapters.history(job, officer("employment"))).json()["moves"]
    assert [(m["status"], m["actor"]) for m in moves[2:]] == [
        ("accepted", "officer-employment-64"), ("in_progress", "head-employment-64")]
    assert "someone-else" not in json.dumps(moves)


async def test_cancel_and_transfer_are_the_provincial_offices_and_say_so(adapters):
    training, enrolment = adapters.ids["training"], adapters.ids["enrolment"]
    refused = await adapters.move(training, officer("skills"), status="cancelled", reason="Entered twice")
    assert refused.status_code == 403 and "provincial office" in refused.json()["detail"]
    transfer = await adapters.move(training, officer("skills"), status="transferred", to_agency="employment",
                                   reason="Wants a job first")
    assert transfer.status_code == 403 and "provincial office of province 64" in transfer.json()["detail"]
    # Another agency's officer learns nothing: 404, not 403.
    assert (await adapters.move(training, officer("employment"), status="cancelled", reason="x" * 10)).status_code == 404
    assert (await adapters.move(training, office("24"), status="cancelled", reason="Entered twice")).status_code == 404
    # The office does not make the agency's moves.
    accepted = await adapters.move(training, office("64"), status="accepted")
    assert accepted.status_code == 403 and "officers of skills" in accepted.json()["detail"]

    moved = await adapters.move(training, office("64"), status="transferred", to_agency="employment",
                                reason="Wants a welding job now")
    assert moved.status_code == 200, moved.text
    assert (await adapters.move(enrolment, office("64"), status="cancelled", reason="Entered twice")).status_code == 200
    last = (await adapters.history(enrolment, office("64"))).json()["moves"][-1]
    assert (last["status"], last["actor"]) == ("cancelled", "office-64")


async def test_history_is_read_by_the_agency_there_the_province_and_national(adapters):
    job = adapters.ids["job"]
    for caller in (officer("employment"), office("64"), token("n", "national")):
        assert [m["status"] for m in (await adapters.history(job, caller)).json()["moves"]] == ["assigned", "received"]
    absent = await adapters.history("no-such-referral", office("64"))
    for caller in (officer("skills"), officer("employment", "24"), office("24")):
        hidden = await adapters.history(job, caller)
        assert hidden.status_code == 404
        assert hidden.json()["detail"] == absent.json()["detail"].replace("no-such-referral", job)
    assert (await adapters.history(job, token("o", "ops"))).status_code == 403


async def test_ops_and_the_agencys_staff_see_deliveries_without_personal_data_and_only_the_head_re_drives(adapters):
    training = adapters.ids["training"]
    url = "/v1/agencies/skills/webhook/deliveries"
    ops = await adapters.client.get(url, headers=token("ops-1", "ops"))
    assert [d["referral_id"] for d in ops.json()["deliveries"]] == [training]
    assert SUKHOTHAI_ID not in ops.text and "สมชาย" not in ops.text and "person" not in ops.text
    assert (await adapters.client.get(url, headers=officer("skills"))).json()["deliveries"][0]["state"] == "parked"
    assert (await adapters.client.get(url, headers=officer("skills", "24"))).json()["deliveries"] == []
    assert (await adapters.client.get(url, headers=officer("employment"))).status_code == 403
    link = await adapters.client.get("/v1/agencies/skills/webhook", headers=token("ops-1", "ops"))
    assert link.json()["deliveries"] == {"pending": 0, "delivered": 0, "parked": 1}

    redrive = "/v1/agencies/skills/webhook/redrive"
    body = {"referral_ids": [training], "reason": "DSD gateway restarted"}
    assert (await adapters.client.post(redrive, json=body, headers=officer("skills"))).status_code == 403
    assert (await adapters.client.post(redrive, json=body, headers=token("ops-1", "ops"))).status_code == 403
    assert (await adapters.client.post(redrive, json=body, headers=officer("employment", head=True))).status_code == 403
    forged = await adapters.client.post(redrive, json={**body, "actor": "ops-somsri"}, headers=officer("skills", head=True))
    assert forged.status_code == 422
    elsewhere = await adapters.client.post(redrive, json=body, headers=officer("skills", "24", head=True))
    assert elsewhere.status_code == 409 and elsewhere.json()["not_parked"] == [training]
    done = await adapters.client.post(redrive, json=body, headers=officer("skills", head=True))
    assert done.status_code == 200 and done.json()["redriven"] == [training]
    row = (await adapters.client.get(url, headers=officer("skills"))).json()["deliveries"][0]
    assert (row["state"], row["last_redrive_by"]) == ("pending", "head-skills-64")


def signed_callback(referral_id: str, body: dict, *, nonce: str | None = None) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    nonce = nonce or new_nonce()
    path = urlsplit(callback_url(public_url=PUBLIC_URL, agency="skills", referral_id=referral_id)).path
    header = signature(secret=SECRET, timestamp=int(time.time()), nonce=nonce, method="POST", path=path, body=raw)
    return raw, {"Content-Type": "application/json", SIGNATURE_HEADER: header, NONCE_HEADER: nonce}


async def test_a_captured_callback_cannot_be_replayed_as_it_is_or_on_another_referral(adapters):
    training = adapters.ids["training"]
    raw, headers = signed_callback(training, {"status": "accepted", "actor": "dsd-clerk-7"})
    path = f"/v1/agency-systems/skills/referrals/{training}/status"
    first = await adapters.client.post(path, content=raw, headers=headers)
    assert first.status_code == 200, first.text

    again = await adapters.client.post(path, content=raw, headers=headers)
    assert again.status_code == 401 and "nonce already used" in again.json()["detail"]
    # Another process on the same database has seen it too.
    assert (await adapters.second.post(path, content=raw, headers=headers)).status_code == 401
    other = f"/v1/agency-systems/skills/referrals/{adapters.ids['job']}/status"
    elsewhere = await adapters.client.post(other, content=raw, headers={**headers, NONCE_HEADER: new_nonce()})
    assert elsewhere.status_code == 401 and "does not match" in elsewhere.json()["detail"]

    history = (await adapters.history(training, officer("skills"))).json()["moves"]
    assert [(m["status"], m["actor"]) for m in history[2:]] == [("accepted", "skills-system:dsd-clerk-7")]
    # The system acts for its agency only: not another agency's referral, not the office's moves.
    raw, headers = signed_callback(adapters.ids["job"], {"status": "accepted"})
    assert (await adapters.client.post(other, content=raw, headers=headers)).status_code == 404
    raw, headers = signed_callback(training, {"status": "cancelled", "reason": "Entered twice"})
    cancelled = await adapters.client.post(path, content=raw, headers=headers)
    assert cancelled.status_code == 403 and "provincial office" in cancelled.json()["detail"]


async def test_the_openapi_document_says_the_callback_takes_no_bearer_token(adapters):
    paths = (await adapters.client.get("/openapi.json")).json()["paths"]
    callback = paths["/v1/agency-systems/{agency}/referrals/{referral_id}/status"]["post"]
    assert callback["security"] == []
    assert {p["name"] for p in callback["parameters"]} >= {SIGNATURE_HEADER, NONCE_HEADER}
    assert paths["/v1/referrals/{referral_id}/status"]["post"]["security"] == [{"oidc": []}]
    schemas = (await adapters.client.get("/openapi.json")).json()["components"]["schemas"]
    assert "actor" not in schemas["StatusMove"]["properties"] and "actor" not in schemas["Redrive"]["properties"]
