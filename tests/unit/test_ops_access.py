"""Who reaches the ops view, with real tokens (LocalIssuer) and no broker: only ops reads the
queues and dead letters and re-drives; a re-drive is recorded under the caller's token subject,
whatever the body says; the page without a session goes to sign in, and with the session
cookie the page and the API reads it makes are served, while a re-drive never rides on it."""

from zoneinfo import ZoneInfo

import httpx
import pytest

from reporting.ops import api as ops_api
from reporting.ops.api import ops_router
from shared.auth.guard import SESSION_COOKIE
from shared.settings import KafkaSettings
from tests.support.report_reading import guarded_app
from tests.support.tokens import LocalIssuer

OPS_SUBJECT = "5b1f0c1e-ops-user-subject"
POSITION = {"topic": "p.referral.assigned.skills.dlq", "partition": 0, "offset": 3}


def session_cookie(token: str) -> dict[str, str]:
    """What the browser sends after signing in (shared.auth.browser sets the cookie)."""
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


class NoScanYet:
    latest, rates, interval_seconds, last_error = None, None, 15.0, None


class RecordedRedrives:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    async def redrive(self, *, positions: list, actor: str, reason: str) -> list[dict]:
        self.calls.append({"positions": positions, "actor": actor, "reason": reason})
        return [{"dlq_topic": topic, "partition": partition, "offset": offset} for topic, partition, offset in positions]


@pytest.fixture
def ops(monkeypatch):
    async def two_in_sukhothai(_session, **_kwargs) -> dict[str, int]:  # noqa: ANN001
        return {"64": 2}

    monkeypatch.setattr(ops_api.store, "intakes_by_province", two_in_sukhothai)
    issuer, dead_letters = LocalIssuer(), RecordedRedrives()

    class NoSession:
        async def __aenter__(self) -> None:
            return None

        async def __aexit__(self, *_exc: object) -> None:
            return None

    app = guarded_app(ops_router(collector=NoScanYet(), dead_letters=dead_letters, kafka=KafkaSettings(),
                                 sessions=NoSession, zone=ZoneInfo("Asia/Bangkok")), issuer=issuer)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test"), issuer, dead_letters


async def test_the_redrive_actor_is_the_callers_subject_not_the_body(ops):
    client, issuer, dead_letters = ops
    ops_token = issuer.mint(OPS_SUBJECT, roles=("ops",))
    async with client:
        answer = await client.post("/v1/ops/dlq/redrive", headers={"Authorization": f"Bearer {ops_token}"},
                                   json={"items": [POSITION], "reason": "grant given back", "actor": "someone-else"})
        refused = [await client.post("/v1/ops/dlq/redrive", json={"items": [POSITION], "reason": "r"}, headers=h)
                   for h in (issuer.headers("national"), issuer.headers("provincial_office", provinces=("64",)))]
        by_cookie = await client.post("/v1/ops/dlq/redrive", json={"items": [POSITION], "reason": "r"},
                                      headers=session_cookie(ops_token))
    assert answer.status_code == 200, answer.text
    assert answer.json()["actor"] == OPS_SUBJECT
    assert dead_letters.calls == [{"positions": [(POSITION["topic"], 0, 3)], "actor": OPS_SUBJECT,
                                   "reason": "grant given back"}]
    assert [r.status_code for r in refused] == [403, 403]
    assert by_cookie.status_code == 401, "a change never rides on the session cookie"
    assert len(dead_letters.calls) == 1


async def test_only_ops_reads_the_queues_and_national_reads_todays_counts(ops):
    client, issuer, _ = ops
    office = issuer.headers("provincial_office", provinces=("64",))
    async with client:
        # 503: past the role check, the scan has not run (there is no broker here).
        assert (await client.get("/v1/ops/queues", headers=issuer.headers("ops"))).status_code == 503
        for path in ("/v1/ops/queues", "/v1/ops/dlq"):
            for headers in (office, issuer.headers("national"), issuer.headers("auditor")):
                assert (await client.get(path, headers=headers)).status_code == 403, (path, headers)
            assert (await client.get(path)).status_code == 401
        today = await client.get("/v1/ops/today", headers=issuer.headers("national"))
        assert today.status_code == 200 and today.json()["provinces"][0]["intakes"] == 2
        assert (await client.get("/v1/ops/today", headers=office)).status_code == 403


async def test_the_page_signs_in_first_then_reads_the_api_with_its_session_cookie(ops):
    client, issuer, _ = ops
    async with client:
        signed_out = await client.get("/ops")
        assert signed_out.status_code == 303 and signed_out.headers["location"] == "/auth/login?next=%2Fops"
        session = session_cookie(issuer.mint(OPS_SUBJECT, roles=("ops",)))
        page = await client.get("/ops", headers=session)
        assert page.status_code == 200 and "/v1/ops/queues" in page.text
        assert 'credentials: "same-origin"' in page.text and "/auth/login?next=" in page.text
        today = await client.get("/v1/ops/today", headers=session)
        assert today.status_code == 200
        not_ops = await client.get("/ops", headers=session_cookie(issuer.mint(roles=("national",))))
        assert not_ops.status_code == 403
        expired = await client.get("/ops", headers=session_cookie(issuer.mint(roles=("ops",), lifetime=-120)))
        assert expired.status_code == 303, "an expired session signs in again"
