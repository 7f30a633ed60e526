"""Write the published contracts into docs/: the AsyncAPI document of every topic, the OpenAPI
document of every HTTP service, so that an agency can build against the repository alone, the
JSON Schema of the record the national system (บสต.) receives, and docs/access-by-route.md, the
policy module's table of who may call what.

    .venv/bin/python scripts/publish_contracts.py           # rewrite docs/asyncapi.json, docs/openapi/*.json
    .venv/bin/python scripts/publish_contracts.py --check   # exit 1 when a committed copy is stale

tests/unit/test_published_contracts.py runs the same comparison.
"""

import importlib
import json
import sys
import tempfile
from pathlib import Path

from shared.auth import OidcSettings
from shared.auth.policy import COMMON, ROUTES, Policy
from shared.contracts.asyncapi import build_asyncapi, render
from shared.settings import PrivacySettings

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
# Published file name -> (package, settings class): the file is named like the service folder.
SERVICES = {
    "intake": ("intake", "IntakeSettings"),
    "routing": ("routing", "RoutingSettings"),
    "agency-adapters": ("agency_adapters", "AgencySettings"),
    "reporting": ("reporting", "ReportingSettings"),
}


def openapi_of(*, service: str, workdir: Path) -> dict:
    """build_app only wires the app (no broker or database is touched until its lifespan
    starts), so the document comes from the real composition root."""
    package, settings_name = SERVICES[service]
    settings_class = getattr(importlib.import_module(f"{package}.settings"), settings_name)
    app = importlib.import_module(f"{package}.main").build_app(settings_class(
        database_url=f"sqlite:///{workdir / package}.db",
        # Placeholders: the document does not depend on them, and nothing is contacted.
        oidc=OidcSettings(issuer="https://sso.example.go.th/realms/songtor"),
        privacy=PrivacySettings(environment="local"),
    ))
    return app.openapi()


def _who(policy: Policy) -> str:
    if policy.public:
        return "anyone (no token)"
    if policy.signed_callback:
        return "the agency's system, by its HMAC signature (no token)"
    return ", ".join(f"`{role.value}`" for role in policy.roles)


def access_table() -> str:
    """Markdown: every route, who may call it, and whether its answers carry names or IDs."""
    lines = [
        "# Who may call which route",
        "",
        "Generated from `shared/auth/policy.py` by `scripts/publish_contracts.py`; do not edit by hand.",
        "Roles and scope are explained in [identity.md](identity.md). A role listed here may still get",
        "404 for a record outside its provinces, org units or agency, and 403 for a change its scope",
        "does not allow (e.g. an officer cancelling: that is the provincial office's).",
        "",
        "| Service | Method | Route | Who | Names or IDs (audited) |",
        "|---|---|---|---|---|",
    ]
    rows = [("every service", method, path, policy) for (method, path), policy in COMMON.items()]
    rows += [(service, method, path, policy) for service, table in ROUTES.items()
             for (method, path), policy in table.items()]
    for service, method, path, policy in rows:
        page = " (page: signs in)" if policy.page else ""
        lines.append(f"| {service} | {method} | `{path}`{page} | {_who(policy)} | {'yes' if policy.personal else ''} |")
    return "\n".join(lines) + "\n"


def national_record_schema() -> str:
    """The JSON Schema of the record the national system receives (docs/national-feed.md)."""
    from reporting.national_feed.contract import NationalRecordV1

    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$id": "https://songtor.example/docs/national-feed/record.v1.schema.json",
              **NationalRecordV1.model_json_schema(by_alias=True, mode="serialization")}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def expected_documents() -> dict[Path, str]:
    documents = {DOCS / "asyncapi.json": render(build_asyncapi()), DOCS / "access-by-route.md": access_table(),
                 DOCS / "national-feed" / "record.v1.schema.json": national_record_schema()}
    with tempfile.TemporaryDirectory() as workdir:
        for service in SERVICES:
            documents[DOCS / "openapi" / f"{service}.json"] = (
                json.dumps(openapi_of(service=service, workdir=Path(workdir)), indent=2, ensure_ascii=False) + "\n"
            )
    return documents


def stale_documents() -> list[Path]:
    return [
        path for path, text in expected_documents().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = stale_documents()
        for path in stale:
            print(f"stale: {path.relative_to(REPO)}", file=sys.stderr)
        return 1 if stale else 0
    for path, text in expected_documents().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(path.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
