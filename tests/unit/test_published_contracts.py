"""The committed contracts (docs/asyncapi.json, docs/openapi/*.json) are what an agency builds
against without running anything, so they must equal what the code generates today."""

import importlib.util
import json
from pathlib import Path

from fastapi.testclient import TestClient

from intake.main import build_app
from intake.settings import IntakeSettings
from shared.agencies import AGENCIES
from shared.auth import OidcSettings
from shared.contracts.asyncapi import KEY_FIELDS, build_asyncapi, event_models
from shared.kafka.dead_letter import DeadLetterHeaders
from shared.topics import Topics
from tests.support.tokens import LOCAL_ISSUER

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("publish_contracts", REPO / "scripts" / "publish_contracts.py")
publish = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(publish)


def test_committed_documents_match_the_code():
    stale = publish.stale_documents()
    assert not stale, (
        f"stale: {[str(path.relative_to(REPO)) for path in stale]}; "
        "regenerate with `.venv/bin/python scripts/publish_contracts.py` and commit"
    )


def test_every_topic_has_a_channel_and_a_dead_letter_channel():
    document = build_asyncapi()
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == set(Topics().all_topics())
    assert {f"referral.assigned.{agency}" for agency in AGENCIES} <= addresses
    assert document["asyncapi"] == "3.0.0"


def test_every_event_type_has_a_key_and_a_schema():
    document = build_asyncapi()
    assert set(event_models()) == set(KEY_FIELDS)
    for model in event_models().values():
        message = document["components"]["messages"][model.__name__]
        assert message["payload"] == {"$ref": f"#/components/schemas/{model.__name__}"}
        assert model.__name__ in document["components"]["schemas"]
        assert message["bindings"]["kafka"]["key"]["description"]


def test_every_reference_resolves():
    document = build_asyncapi()

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    for ref in refs(document):
        target = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]


def test_dead_letter_headers_are_the_middlewares_own():
    headers = build_asyncapi()["components"]["messages"]["DeadLetter"]["headers"]["properties"]
    written = {value for name, value in vars(DeadLetterHeaders).items() if name.isupper()}
    assert set(headers) == written


def test_served_document_uses_the_deployments_topic_names(tmp_path):
    settings = IntakeSettings(database_url=f"sqlite:///{tmp_path}/intake.db", oidc=OidcSettings(issuer=LOCAL_ISSUER))
    settings.kafka.topic_prefix = "acme."
    client = TestClient(build_app(settings))  # no `with`: no broker or database is started
    served = client.get("/asyncapi.json")
    assert served.status_code == 200
    addresses = {channel["address"] for channel in served.json()["channels"].values()}
    assert "acme.referral.assigned.skills.dlq" in addresses
    assert json.loads(served.content)["info"]["title"] == "Songtor events"
    # The contracts are public, like /health and /metrics; nothing else is.
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/v1/needs").status_code == 401
