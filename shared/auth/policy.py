"""The one place that says who may call which route.

Every HTTP route of every service is declared here by (method, path template). A service
refuses to start when one of its routes is missing (`check_routes`), and the route-table test
calls each route as each role, so a new route cannot default to open.

The role gate below is the first check. Scope (which provinces, org units and agency a caller
covers) is the second, done by each route on the records it reads with the Principal's
`covers_*` and `works_for`: lists are filtered, and a single record out of scope answers 404,
so its existence is not revealed.

`personal=True` marks routes whose answers carry names or national IDs: each such read is
written to the audit log (who, when, route, scope, how many people; never the data)."""

from dataclasses import dataclass

from shared.auth.principal import Role

INTAKE_CLERK, AGENCY_OFFICER, AGENCY_HEAD = Role.INTAKE_CLERK, Role.AGENCY_OFFICER, Role.AGENCY_HEAD
PROVINCIAL_OFFICE, OPS, NATIONAL, AUDITOR = Role.PROVINCIAL_OFFICE, Role.OPS, Role.NATIONAL, Role.AUDITOR
AGENCY_STAFF = (AGENCY_OFFICER, AGENCY_HEAD)
ANY_ROLE = tuple(Role)


@dataclass(frozen=True)
class Policy:
    roles: tuple[Role, ...] = ()
    public: bool = False           # no token: health, metrics, the published contracts
    signed_callback: bool = False  # an agency system's callback, proven by its HMAC signature
    personal: bool = False         # answers with names or national IDs: audited
    page: bool = False             # a browser page: signs in through the issuer (PKCE)

    def allows(self, roles: frozenset[Role]) -> bool:
        return self.public or self.signed_callback or any(role in roles for role in self.roles)


PUBLIC = Policy(public=True)


def _allow(*roles: Role, personal: bool = False, page: bool = False) -> Policy:
    return Policy(roles=tuple(roles), personal=personal, page=page)


# Served by every service (shared.http and FastAPI's own OpenAPI document).
COMMON: dict[tuple[str, str], Policy] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/health/live"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/asyncapi.json"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    # Each service's audit log of personal-data reads (shared.auth.audit).
    ("GET", "/v1/audit/reads"): _allow(AUDITOR),
    ("POST", "/v1/audit/reads/of-person"): _allow(AUDITOR),
}

ROUTES: dict[str, dict[tuple[str, str], Policy]] = {
    "intake": {
        ("POST", "/v1/intakes"): _allow(INTAKE_CLERK),
        ("GET", "/v1/intakes/{intake_id}"): _allow(INTAKE_CLERK, PROVINCIAL_OFFICE, NATIONAL, personal=True),
        ("GET", "/v1/needs"): _allow(*ANY_ROLE),
        ("POST", "/v1/intakes/bulk"): _allow(INTAKE_CLERK),
        ("GET", "/v1/intake-jobs/{job_id}"): _allow(INTAKE_CLERK, PROVINCIAL_OFFICE, NATIONAL),
        ("GET", "/v1/intake-jobs/{job_id}/errors.csv"): _allow(INTAKE_CLERK, PROVINCIAL_OFFICE, NATIONAL, personal=True),
        # Erasure (PDPA s.33): asked by the provincial office; followed by it, national and the auditor.
        ("POST", "/v1/erasures"): _allow(PROVINCIAL_OFFICE),
        ("GET", "/v1/erasures/{erasure_id}"): _allow(PROVINCIAL_OFFICE, NATIONAL, AUDITOR),
        # Consent to the national drug-rehabilitation system withdrawn: recorded by whoever took the
        # person in (a clerk of the unit, the provincial office); read back by them, national and the auditor.
        ("POST", "/v1/consents/national-system/withdrawals"): _allow(INTAKE_CLERK, PROVINCIAL_OFFICE),
        ("GET", "/v1/consents/national-system/withdrawals/{withdrawal_id}"):
            _allow(INTAKE_CLERK, PROVINCIAL_OFFICE, NATIONAL, AUDITOR),
    },
    "routing": {
        ("GET", "/v1/referrals/{referral_id}/routing"): _allow(*AGENCY_STAFF, PROVINCIAL_OFFICE, NATIONAL),
        ("GET", "/v1/unroutable"): _allow(PROVINCIAL_OFFICE, NATIONAL),
        ("POST", "/v1/unroutable/{referral_id}/route"): _allow(PROVINCIAL_OFFICE),
    },
    "agency-adapters": {
        ("GET", "/v1/agencies/{agency}/referrals"): _allow(*AGENCY_STAFF, PROVINCIAL_OFFICE, personal=True),
        ("GET", "/v1/agencies/{agency}/referrals/{referral_id}"): _allow(*AGENCY_STAFF, PROVINCIAL_OFFICE, personal=True),
        # Officers move their agency's referrals; cancel and transfer are the provincial office's
        # (checked per status in the route).
        ("POST", "/v1/referrals/{referral_id}/status"): _allow(*AGENCY_STAFF, PROVINCIAL_OFFICE),
        # Staff's reasons and notes on the moves may name the person: audited like a person read.
        ("GET", "/v1/referrals/{referral_id}/history"): _allow(*AGENCY_STAFF, PROVINCIAL_OFFICE, NATIONAL, personal=True),
        ("GET", "/v1/agencies/{agency}/outcomes"): _allow(*ANY_ROLE),
        ("POST", "/v1/agency-systems/{agency}/referrals/{referral_id}/status"): Policy(signed_callback=True),
        # An agency's own system reads the person of a referral it took from Kafka (sealed there).
        ("GET", "/v1/agency-systems/{agency}/referrals/{referral_id}"): Policy(signed_callback=True, personal=True),
        ("GET", "/v1/agencies/{agency}/webhook"): _allow(*AGENCY_STAFF, OPS),
        ("GET", "/v1/agencies/{agency}/webhook/deliveries"): _allow(*AGENCY_STAFF, OPS),
        ("POST", "/v1/agencies/{agency}/webhook/redrive"): _allow(AGENCY_HEAD),
    },
    "reporting": {
        ("GET", "/v1/reports/monthly"): _allow(PROVINCIAL_OFFICE, NATIONAL),
        ("GET", "/v1/reports/sp12"): _allow(PROVINCIAL_OFFICE, NATIONAL, personal=True),
        ("GET", "/v1/reports/snb2"): _allow(PROVINCIAL_OFFICE, NATIONAL, personal=True),
        ("GET", "/v1/reports/summary"): _allow(PROVINCIAL_OFFICE, NATIONAL, personal=True),
        ("GET", "/v1/reports/summary.html"): _allow(PROVINCIAL_OFFICE, NATIONAL, personal=True, page=True),
        ("GET", "/v1/reports/tpmap"): _allow(PROVINCIAL_OFFICE, NATIONAL),
        ("GET", "/v1/reports/published"): _allow(PROVINCIAL_OFFICE, NATIONAL),
        ("GET", "/v1/reports/published/{form}/{scope}/{month}/{version}.{fmt}"):
            _allow(PROVINCIAL_OFFICE, NATIONAL, personal=True),
        ("GET", "/v1/reports/completeness"): _allow(PROVINCIAL_OFFICE, NATIONAL, OPS),
        # The feed to the national drug-rehabilitation system: operations watch and re-drive it;
        # they see where records stand, never what they say.
        ("GET", "/v1/national-feed"): _allow(OPS, NATIONAL),
        ("GET", "/v1/national-feed/records"): _allow(OPS, NATIONAL),
        ("POST", "/v1/national-feed/redrive"): _allow(OPS),
        ("POST", "/v1/reports/close-due"): _allow(PROVINCIAL_OFFICE),
        ("GET", "/v1/registries/imports"): _allow(PROVINCIAL_OFFICE, NATIONAL, OPS),
        ("GET", "/v1/ops/queues"): _allow(OPS),
        ("GET", "/v1/ops/dlq"): _allow(OPS),
        ("POST", "/v1/ops/dlq/redrive"): _allow(OPS),
        ("GET", "/v1/ops/today"): _allow(OPS, NATIONAL),
        ("GET", "/ops"): _allow(OPS, page=True),
        ("GET", "/auth/login"): PUBLIC,
        ("GET", "/auth/callback"): PUBLIC,
        ("GET", "/auth/logout"): PUBLIC,
    },
}


def policy_for(service: str, method: str, path: str) -> Policy | None:
    return COMMON.get((method, path)) or ROUTES.get(service, {}).get((method, path))


def check_routes(service: str, routes: list[tuple[str, str]]) -> None:
    """Refuse to build a service with a route this module does not declare."""
    missing = sorted(f"{method} {path}" for method, path in routes if policy_for(service, method, path) is None)
    if missing:
        raise RuntimeError(
            f"{service}: routes without a policy in shared/auth/policy.py (none defaults to open): {', '.join(missing)}"
        )
