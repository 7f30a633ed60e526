"""Who reads and triages which routing decision, on SQLite and PostgreSQL, with real tokens
(LocalIssuer) against routing's own app and database (no broker: the decisions are stored as
the consumer stores them). Seeded: a person in Sukhothai (64) with a routed job registration and
an unroutable need, and a person in Chachoengsao (24) with an unroutable need."""

from datetime import UTC, datetime

import httpx
import pytest

from routing import repository
from routing.domain import route_intake
from routing.main import build_app
from routing.models import TABLES
from routing.settings import RoutingSettings
from shared.auth import OidcSettings
from shared.auth.audit import TABLES as AUDIT_TABLES
from shared.catalog import default_catalog
from shared.db import create_tables, make_engine, session_factory
from tests.support.examples import intake_event, intake_for
from tests.support.tokens import LocalIssuer

pytestmark = pytest.mark.integration
ISSUER = LocalIssuer()


def token(subject: str, *roles: str, **scope: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {ISSUER.mint(subject, roles=roles, **scope)}"}


def office(province: str) -> dict[str, str]:
    return token(f"office-{province}", "provincial_office", provinces=(province,))


def officer(agency: str, province: str = "64") -> dict[str, str]:
    return token(f"officer-{agency}-{province}", "agency_officer", agency=agency, provinces=(province,))


def skewed_intake(national_id: str, subdistrict: str, intake_id: str, needs: list[str]):  # noqa: ANN201
    """An intake whose unit's catalog knows a code routing's does not (version skew)."""
    base = intake_event(intake_for(national_id, subdistrict=subdistrict, needs=["job_registration"]), intake_id=intake_id)
    template = base.needs[0]
    return base.model_copy(update={"needs": tuple(template.model_copy(update={"code": code}) for code in needs)})


@pytest.fixture
async def routing(database_url):
    url = database_url("routing")
    engine = make_engine(url)
    await create_tables(engine, [*TABLES, *AUDIT_TABLES])
    ids: dict[str, str] = {}
    async with session_factory(engine)() as session:
        for province, subdistrict, nid, needs in (("64", "640601", "3640100456781", ["job_registration", "tractor_licence"]),
                                                  ("24", "240101", "1240100012341", ["tractor_licence"])):
            intake = skewed_intake(nid, subdistrict, f"00000000-0000-4000-8000-0000000000{province}", needs)
            for routed in route_intake(intake=intake, catalog=default_catalog(), routed_at=datetime.now(UTC)):
                repository.add_decision(session, routed=routed, intake=intake, catalog_version="test",
                                        decided_at=datetime.now(UTC))
                ids[f"{routed.need_code}_{province}"] = routed.referral_id
        await session.commit()
    settings = RoutingSettings(database_url=url, oidc=OidcSettings(issuer=ISSUER.issuer))
    app = ISSUER.trust(build_app(settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://routing") as client:
        yield client, ids
    await engine.dispose()


async def test_a_routing_decision_is_read_by_its_province_its_agency_there_and_national(routing):
    client, ids = routing
    job = f"/v1/referrals/{ids['job_registration_64']}/routing"
    for caller in (office("64"), officer("employment"), token("n", "national")):
        answer = await client.get(job, headers=caller)
        assert answer.status_code == 200 and answer.json()["agency"] == "employment"
    absent = await client.get("/v1/referrals/no-such-referral/routing", headers=office("64"))
    for caller in (office("24"), officer("skills"), officer("employment", "24")):
        hidden = await client.get(job, headers=caller)
        assert hidden.status_code == 404
        assert hidden.json()["detail"] == absent.json()["detail"].replace("no-such-referral", ids["job_registration_64"])
    # An unroutable need has no agency yet: no officer sees it, its province does.
    unroutable = f"/v1/referrals/{ids['tractor_licence_64']}/routing"
    assert (await client.get(unroutable, headers=officer("employment"))).status_code == 404
    assert (await client.get(unroutable, headers=office("64"))).json()["state"] == "unroutable"
    assert (await client.get(job, headers=token("o", "ops"))).status_code == 403


async def test_the_unroutable_list_holds_the_callers_provinces(routing):
    client, ids = routing

    async def listed(headers: dict[str, str]) -> list[str]:
        return [row["referral_id"] for row in (await client.get("/v1/unroutable", headers=headers)).json()["unroutable"]]

    assert await listed(office("64")) == [ids["tractor_licence_64"]]
    assert await listed(office("24")) == [ids["tractor_licence_24"]]
    assert sorted(await listed(token("n", "national"))) == sorted([ids["tractor_licence_64"], ids["tractor_licence_24"]])
    assert await listed(token("both", "provincial_office", provinces=("24", "64"))) != []
    assert (await client.get("/v1/unroutable", headers=officer("employment"))).status_code == 403


async def test_only_the_provincial_office_there_triages_and_the_decision_is_the_tokens_subjects(routing):
    client, ids = routing
    url = f"/v1/unroutable/{ids['tractor_licence_64']}/route"
    body = {"agency": "skills", "category": "develop", "reason": "Tractor driving is a skills course"}
    absent = await client.post("/v1/unroutable/no-such-referral/route", json=body, headers=office("64"))
    elsewhere = await client.post(url, json=body, headers=office("24"))
    assert (elsewhere.status_code, absent.status_code) == (404, 404)
    assert elsewhere.json()["detail"] == absent.json()["detail"].replace("no-such-referral", ids["tractor_licence_64"])
    assert (await client.post(url, json=body, headers=token("n", "national"))).status_code == 403
    assert (await client.post(url, json=body, headers=officer("skills"))).status_code == 403

    forged = await client.post(url, json={**body, "actor": "officer-0017"}, headers=office("64"))
    assert forged.status_code == 422 and "actor" in forged.text
    routed = await client.post(url, json=body, headers=office("64"))
    assert routed.status_code == 200, routed.text
    decision = routed.json()
    assert (decision["state"], decision["agency"], decision["decided_by"]) == ("triaged", "skills", "office-64")
    assert [(h["state"], h["by"]) for h in decision["history"]] == [("unroutable", "routing"), ("triaged", "office-64")]
    assert "office-64" in decision["explanation"]
    # Now skills' officers there see why it came to them; the list no longer holds it.
    assert (await client.get(f"/v1/referrals/{ids['tractor_licence_64']}/routing", headers=officer("skills"))).status_code == 200
    assert (await client.get("/v1/unroutable", headers=office("64"))).json()["unroutable"] == []
