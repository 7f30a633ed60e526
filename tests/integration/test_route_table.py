"""Every route of every service, called by every kind of caller, against one table of answers.

The routes are enumerated from the apps themselves: a route missing from ROUTES (or a row of
ROUTES no app serves) fails, so a new route cannot arrive without a declared answer for each
caller. Callers: no token, an expired token, a token from another issuer, a token for another
audience (all 401), and each role in and out of scope. The four services run in this process
against the real broker (SQLite each), with a referral in Sukhothai (64) to read and move.

Answers: "ok" is any 2xx, or a 409/422 the route gives *after* letting the caller in (the caller
passed the gate and the scope; the record's own state answered); 401, 403 and 404 are exact.
A record out of the caller's scope answers 404, as if it did not exist."""

import contextlib
import uuid

import httpx
import pytest

from agency_adapters.main import build_app as agency_app
from agency_adapters.settings import AgencySettings
from intake.main import build_app as intake_app
from intake.settings import IntakeSettings
from reporting.main import build_app as reporting_app
from reporting.settings import ReportingSettings
from routing.main import build_app as routing_app
from routing.settings import RoutingSettings
from shared.auth import OidcSettings
from shared.auth.guard import served_routes
from tests.support.examples import contract_example
from tests.support.in_process import kafka_settings, ops_login, running
from tests.support.polling import eventually_async
from tests.support.tokens import LocalIssuer

pytestmark = pytest.mark.integration

ISSUER = LocalIssuer()
IMPOSTOR = LocalIssuer(issuer="https://sso.elsewhere.example/realms/songtor")

ROLES: dict[str, dict] = {
    "clerk": {"roles": ("intake_clerk",), "org_units": ("6406",)},
    "clerk_elsewhere": {"roles": ("intake_clerk",), "org_units": ("2401",)},
    "officer": {"roles": ("agency_officer",), "agency": "employment", "provinces": ("64",)},
    "officer_skills": {"roles": ("agency_officer",), "agency": "skills", "provinces": ("64",)},
    "officer_elsewhere": {"roles": ("agency_officer",), "agency": "employment", "provinces": ("24",)},
    "head": {"roles": ("agency_head", "agency_officer"), "agency": "employment", "provinces": ("64",)},
    "province": {"roles": ("provincial_office",), "provinces": ("64",)},
    "province_elsewhere": {"roles": ("provincial_office",), "provinces": ("24",)},
    "ops": {"roles": ("ops",)},
    "national": {"roles": ("national",)},
    "auditor": {"roles": ("auditor",)},
}
BAD_TOKENS = {
    "none": None,
    "expired": ISSUER.mint("late", roles=("national",), lifetime=-600),
    "other_issuer": IMPOSTOR.mint("impostor", roles=("national",)),
    "wrong_audience": ISSUER.mint("misdirected", roles=("national",), audience="another-system"),
}
PUBLIC = "public"

# (service, method, path template) -> (request, answers). The request names the seeded records
# ({intake_id}, {referral_id}, {job_id}); answers map a caller to its answer, every caller not
# named answers 403.
ROUTES: dict[tuple[str, str, str], tuple[dict, dict[str, object] | str]] = {}


def route(service: str, method: str, path: str, answers: dict | str, **request: object) -> None:
    ROUTES[(service, method, path)] = (request, answers)


for _service in ("intake", "routing", "agency-adapters", "reporting"):
    route(_service, "GET", "/health", PUBLIC)
    route(_service, "GET", "/health/live", PUBLIC)
    route(_service, "GET", "/metrics", PUBLIC)
    route(_service, "GET", "/asyncapi.json", PUBLIC)
    route(_service, "GET", "/openapi.json", PUBLIC)
    route(_service, "GET", "/v1/audit/reads", {"auditor": "ok"})
    route(_service, "POST", "/v1/audit/reads/of-person", {"auditor": "ok"},
          json={"national_id": contract_example()["person"]["national_id"]})

# intake
route("intake", "POST", "/v1/intakes", {"clerk": "ok", "clerk_elsewhere": 403}, json=contract_example())
route("intake", "GET", "/v1/intakes/{intake_id}",
      {"clerk": "ok", "clerk_elsewhere": 404, "province": "ok", "province_elsewhere": 404, "national": "ok"})
route("intake", "GET", "/v1/needs", {name: "ok" for name in ROLES})
route("intake", "POST", "/v1/intakes/bulk", {"clerk": "ok", "clerk_elsewhere": "ok"}, sheet=True)
route("intake", "GET", "/v1/intake-jobs/{job_id}",
      {"clerk": "ok", "clerk_elsewhere": 404, "province": "ok", "province_elsewhere": 404, "national": "ok"})
route("intake", "GET", "/v1/intake-jobs/{job_id}/errors.csv",
      {"clerk": "ok", "clerk_elsewhere": 404, "province": "ok", "province_elsewhere": 404, "national": "ok"})
# Nobody with this ID was taken in, and no such erasure exists: the policy is what is checked here
# (tests/e2e/test_erasure.py erases).
route("intake", "POST", "/v1/erasures", {"province": 404, "province_elsewhere": 404},
      json={"national_id": "1100600445635", "reason": "the person asked under PDPA s.33"})
route("intake", "GET", "/v1/erasures/{erasure_id}", {"province": 404, "province_elsewhere": 404, "national": 404,
                                                    "auditor": 404}, erasure_id="00000000-0000-4000-8000-000000000000")
# Likewise for a withdrawn consent (tests/unit/test_consent_withdrawal.py records one): the seeded
# person is also taken in for 2401 by the sheet's route above, so an ID nobody took in keeps every
# answer fixed whatever order the rows run in.
route("intake", "POST", "/v1/consents/national-system/withdrawals",
      {"clerk": 404, "clerk_elsewhere": 404, "province": 404, "province_elsewhere": 404},
      json={"national_id": "6260181590830", "reason": "asked in person at the centre"})
route("intake", "GET", "/v1/consents/national-system/withdrawals/{withdrawal_id}",
      {"clerk": 404, "clerk_elsewhere": 404, "province": 404, "province_elsewhere": 404, "national": 404,
       "auditor": 404}, withdrawal_id="00000000-0000-4000-8000-000000000000")
# routing
route("routing", "GET", "/v1/referrals/{referral_id}/routing",
      {"officer": "ok", "head": "ok", "officer_skills": 404, "officer_elsewhere": 404,
       "province": "ok", "province_elsewhere": 404, "national": "ok"})
route("routing", "GET", "/v1/unroutable", {"province": "ok", "province_elsewhere": "ok", "national": "ok"})
# The seeded referral was routed: the province's office is let through and told so (409).
route("routing", "POST", "/v1/unroutable/{referral_id}/route", {"province": "ok", "province_elsewhere": 404},
      json={"agency": "skills", "reason": "a driving course fits best"})
# agency adapters
route("agency-adapters", "GET", "/v1/agencies/{agency}/referrals",
      {"officer": "ok", "head": "ok", "officer_elsewhere": "ok", "province": "ok", "province_elsewhere": "ok"},
      agency="employment")
route("agency-adapters", "GET", "/v1/referrals/{referral_id}/history",
      {"officer": "ok", "head": "ok", "officer_skills": 404, "officer_elsewhere": 404,
       "province": "ok", "province_elsewhere": 404, "national": "ok"})
route("agency-adapters", "GET", "/v1/agencies/{agency}/referrals/{referral_id}",
      {"officer": "ok", "head": "ok", "officer_skills": 403, "officer_elsewhere": 404, "province": "ok",
       "province_elsewhere": 404}, agency="employment")
route("agency-adapters", "GET", "/v1/agencies/{agency}/outcomes", {name: "ok" for name in ROLES}, agency="employment")
route("agency-adapters", "POST", "/v1/agency-systems/{agency}/referrals/{referral_id}/status",
      {name: 401 for name in ROLES}, agency="employment", json={"status": "accepted"}, signed=True)
route("agency-adapters", "GET", "/v1/agency-systems/{agency}/referrals/{referral_id}",
      {name: 401 for name in ROLES}, agency="employment", signed=True)
route("agency-adapters", "GET", "/v1/agencies/{agency}/webhook",
      {"officer": "ok", "head": "ok", "officer_elsewhere": "ok", "ops": "ok"}, agency="employment")
route("agency-adapters", "GET", "/v1/agencies/{agency}/webhook/deliveries",
      {"officer": "ok", "head": "ok", "officer_elsewhere": "ok", "ops": "ok"}, agency="employment")
route("agency-adapters", "POST", "/v1/agencies/{agency}/webhook/redrive", {"head": "ok"},
      agency="employment", json={"reason": "the agency fixed its endpoint"})
# Last of the agency routes: it moves the referral.
route("agency-adapters", "POST", "/v1/referrals/{referral_id}/status",
      {"officer_skills": 404, "officer_elsewhere": 404, "province_elsewhere": 404, "province": 403,
       "officer": "ok", "head": "ok"}, json={"status": "accepted"})
# reporting
_month = {"province": "64", "month": "2026-11"}
route("reporting", "GET", "/v1/reports/monthly", {"province": "ok", "province_elsewhere": 404, "national": "ok"},
      params=_month)
route("reporting", "GET", "/v1/reports/sp12", {"province": "ok", "province_elsewhere": 404, "national": "ok"},
      params={"org_unit": "6406", "month": "2026-11", "format": "csv"})
route("reporting", "GET", "/v1/reports/snb2", {"province": "ok", "province_elsewhere": 404, "national": "ok"},
      params={**_month, "format": "csv"})
route("reporting", "GET", "/v1/reports/summary", {"province": "ok", "province_elsewhere": 404, "national": "ok"},
      params=_month)
route("reporting", "GET", "/v1/reports/summary.html", {"province": "ok", "province_elsewhere": 404, "national": "ok"},
      params=_month)
route("reporting", "GET", "/v1/reports/tpmap", {"province": "ok", "province_elsewhere": 404, "national": "ok"},
      params=_month)
route("reporting", "GET", "/v1/reports/published", {"province": "ok", "province_elsewhere": "ok", "national": "ok"})
route("reporting", "GET", "/v1/reports/published/{form}/{scope}/{month}/{version}.{fmt}",
      {"province": 404, "province_elsewhere": 404, "national": 404},
      form="snb2", scope="64", month="2026-10", version="1", fmt="csv")
route("reporting", "GET", "/v1/reports/completeness",
      {"province": "ok", "province_elsewhere": "ok", "national": "ok", "ops": "ok"}, params={"month": "2026-11"})
route("reporting", "POST", "/v1/reports/close-due", {"province": "ok", "province_elsewhere": "ok"})
route("reporting", "GET", "/v1/registries/imports", {"province": "ok", "province_elsewhere": "ok", "national": "ok",
                                                      "ops": "ok"})
route("reporting", "GET", "/v1/ops/queues", {"ops": "ok"})
route("reporting", "GET", "/v1/ops/dlq", {"ops": "ok"})
route("reporting", "POST", "/v1/ops/dlq/redrive", {"ops": "ok"},
      json={"items": [{"topic": "nowhere.dlq", "partition": 0, "offset": 0}], "reason": "checking the gate"})
route("reporting", "GET", "/v1/ops/today", {"ops": "ok", "national": "ok"})
route("reporting", "GET", "/v1/national-feed", {"ops": "ok", "national": "ok"})
route("reporting", "GET", "/v1/national-feed/records", {"ops": "ok", "national": "ok"})
route("reporting", "POST", "/v1/national-feed/redrive", {"ops": "ok"}, json={"reason": "checking the gate"})
route("reporting", "GET", "/ops", {"ops": "ok"})
route("reporting", "GET", "/auth/login", PUBLIC)
route("reporting", "GET", "/auth/callback", PUBLIC)
route("reporting", "GET", "/auth/logout", PUBLIC)


PAGES = {"/ops", "/v1/reports/summary.html"}


def expected(answers: dict | str, caller: str, path: str = "") -> object:
    if answers == PUBLIC:
        return "public"
    if caller == "none" and path in PAGES:
        return 303  # a browser without a session is sent to sign in
    if caller in BAD_TOKENS:
        return 401
    return answers.get(caller, 403)  # type: ignore[union-attr]


def matches(want: object, status: int) -> bool:
    if want == "public":
        return status < 400 or status in (400, 503)  # a sign-in callback without a code answers 400
    if want == "ok":
        return 200 <= status < 300 or status in (409, 422)
    return status == want


SHEET_HEADER = "source,org_unit,reported_by,national_id,full_name,worker_type,subdistrict_code,needs,consent,note\n"


@contextlib.asynccontextmanager
async def four_services(tmp_path, kafka_env):  # noqa: ANN001, ANN201
    def kafka(service: str):  # noqa: ANN202 - each service logs in as itself
        return kafka_settings(kafka_env, service=service)

    oidc = OidcSettings(issuer=ISSUER.issuer)
    webhook = {"employment": {"url": "http://127.0.0.1:9/never", "secret": "s" * 32}}
    apps = {
        "reporting": reporting_app(ReportingSettings(database_url=f"sqlite:///{tmp_path}/r.db", kafka=kafka("reporting"), oidc=oidc,
                                                     **ops_login())),
        "agency-adapters": agency_app(AgencySettings(database_url=f"sqlite:///{tmp_path}/a.db", kafka=kafka("agency-adapters"), oidc=oidc,
                                                     webhooks=webhook)),
        "routing": routing_app(RoutingSettings(database_url=f"sqlite:///{tmp_path}/g.db", kafka=kafka("routing"), oidc=oidc)),
        "intake": intake_app(IntakeSettings(database_url=f"sqlite:///{tmp_path}/i.db", kafka=kafka("intake"), oidc=oidc)),
    }
    async with contextlib.AsyncExitStack() as stack:
        clients = {name: await stack.enter_async_context(running(ISSUER.trust(app))) for name, app in apps.items()}
        yield apps, clients


def headers_of(caller: str) -> dict[str, str]:
    if caller in BAD_TOKENS:
        token = BAD_TOKENS[caller]
        return {"Authorization": f"Bearer {token}"} if token else {}
    return {"Authorization": f"Bearer {ISSUER.mint(f'sub-{caller}', **ROLES[caller])}"}


async def seed(clients: dict[str, httpx.AsyncClient]) -> dict[str, str]:
    clerk, officer = headers_of("clerk"), headers_of("officer")
    accepted = await clients["intake"].post("/v1/intakes", json=contract_example(), headers=clerk)
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    referral_id = next(r["referral_id"] for r in body["referrals"] if r["need_code"] == "job_registration")
    sheet = SHEET_HEADER + "walk_in,6406,officer-1,3640100456781,สมชาย ใจดี,informal,640601,job_registration,ใช่,x\n"
    job = await clients["intake"].post("/v1/intakes/bulk", files={"file": ("s.csv", sheet.encode(), "text/csv")},
                                       headers=clerk)
    assert job.status_code == 202, job.text

    async def arrived() -> bool:
        listed = await clients["agency-adapters"].get("/v1/agencies/employment/referrals", headers=officer)
        return listed.status_code == 200 and any(r["referral_id"] == referral_id for r in listed.json()["referrals"])

    await eventually_async(arrived, timeout=60)
    return {"intake_id": body["intake_id"], "referral_id": referral_id, "job_id": job.json()["job_id"]}


async def call(client: httpx.AsyncClient, path: str, method: str, request: dict, headers: dict) -> httpx.Response:
    if request.get("sheet"):
        sheet = SHEET_HEADER + "walk_in,2401,officer-1,3640100456781,สมชาย ใจดี,informal,240101,job_registration,ใช่,x\n"
        return await client.post(path, files={"file": ("s.csv", sheet.encode(), "text/csv")},
                                 headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    return await client.request(method, path, params=request.get("params"), json=request.get("json"),
                                headers=headers, follow_redirects=False)


async def test_every_route_answers_every_caller_as_the_table_says(tmp_path, kafka_env):
    async with four_services(tmp_path, kafka_env) as (apps, clients):
        served = {(name, method, path) for name, app in apps.items() for method, path in served_routes(app)}
        assert served - ROUTES.keys() == set(), "routes with no row in ROUTES: declare who may call them"
        assert ROUTES.keys() - served == set(), "rows of ROUTES that no service serves"

        documents = {name: app.openapi() for name, app in apps.items()}
        seeded = await seed(clients)
        wrong = []
        # Callers that must be refused go first; the ones let in last, so a move changes nothing
        # the refusals are checked against.
        for (service, method, path), (request, answers) in ROUTES.items():
            callers = [*BAD_TOKENS, *ROLES]
            callers.sort(key=lambda caller: expected(answers, caller, path) == "ok")
            for caller in callers:
                url = path.format(**{**seeded, **{k: v for k, v in request.items() if isinstance(v, str)}})
                answer = await call(clients[service], url, method, request, headers_of(caller))
                want = expected(answers, caller, path)
                if want == 303 and answer.status_code == 303:
                    assert answer.headers["location"].startswith("/auth/login?next="), answer.headers
                responses = documents[service]["paths"].get(path, {}).get(method.lower(), {}).get("responses")
                if responses is not None and str(answer.status_code) not in responses and "default" not in responses:
                    wrong.append(f"{service} {method} {path} as {caller}: {answer.status_code} is not in its OpenAPI "
                                 f"responses {sorted(responses)}")
                if answer.status_code >= 400 and answer.headers.get("content-type", "").startswith("application/json"):
                    if "detail" not in answer.json():  # the documented Refusal shape
                        wrong.append(f"{service} {method} {path} as {caller}: refusal without detail: {answer.text[:160]}")
                if not matches(want, answer.status_code):
                    wrong.append(f"{service} {method} {path} as {caller}: {answer.status_code}, want {want}: "
                                 f"{answer.text[:160]}")
                if want == 401 and answer.status_code == 401 and caller != "none" and not ROUTES[(service, method, path)][0].get("signed"):
                    assert 'error="invalid_token"' in answer.headers.get("www-authenticate", ""), (path, caller)
        assert wrong == [], "\n".join(wrong)


def test_the_table_is_the_policy_modules_roles():
    """A caller the policy module's gate refuses has 403 in the table (a caller it lets in may still
    get 403 from the route's own scope check, e.g. a clerk submitting for another org unit)."""
    from shared.auth.policy import policy_for
    from shared.auth.principal import Role

    for (service, method, path), (_request, answers) in ROUTES.items():
        policy = policy_for(service, method, path)
        assert policy is not None, (service, method, path)
        if answers == PUBLIC:
            assert policy.public, path
            continue
        for caller, spec in ROLES.items():
            let_in = policy.allows(frozenset(Role(r) for r in spec["roles"]))
            if policy.signed_callback:
                continue
            if not let_in:
                assert expected(answers, caller) == 403, f"{service} {method} {path}: {caller} is refused by the policy"
