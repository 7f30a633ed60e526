"""Each service's OpenAPI document says, route by route, what proves the caller — from the policy
module — so a client generated from it (agencies generate theirs) sends a token exactly where
one is needed, and knows every answer the route may give."""

import importlib

import pytest

from shared.auth import OidcSettings, policy_for
from shared.settings import PrivacySettings
from tests.support.tokens import LOCAL_ISSUER

SERVICES = {"intake": ("intake", "IntakeSettings"), "routing": ("routing", "RoutingSettings"),
            "agency-adapters": ("agency_adapters", "AgencySettings"), "reporting": ("reporting", "ReportingSettings")}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_operations_document_their_security_and_the_gates_answers(service, tmp_path):
    package, settings_name = SERVICES[service]
    settings_class = getattr(importlib.import_module(f"{package}.settings"), settings_name)
    app = importlib.import_module(f"{package}.main").build_app(settings_class(
        database_url=f"sqlite:///{tmp_path}/db.sqlite", oidc=OidcSettings(issuer=LOCAL_ISSUER),
        privacy=PrivacySettings(environment="test")))
    document = app.openapi()
    assert document["components"]["securitySchemes"]["oidc"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            policy = policy_for(service, method.upper(), path)
            assert policy is not None, (service, method, path)
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    assert response.get("content"), f"{method} {path} {status} has no documented body"
            if policy.public or policy.signed_callback:
                assert operation["security"] == [], (method, path)
                continue
            assert operation["security"] == [{"oidc": []}], (method, path)
            assert {"401", "403", "404", "503"} <= set(operation["responses"]), (method, path)
            if method in ("post", "put", "patch"):
                assert {"413", "415"} <= set(operation["responses"]), (method, path)
