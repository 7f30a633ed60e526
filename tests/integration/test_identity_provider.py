"""The services against the real Keycloak: a demo user's token works; a disabled user gets no new
token and the old one dies with its short lifetime; after a key rotation new tokens work without
a restart and tokens signed by the removed key are refused.

The disabling and the rotation happen in a realm of the test's own (the demo realm's file under
another name), so the shared demo realm other tests use is never disturbed."""

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest

from intake.main import build_app
from intake.settings import IntakeSettings
from shared.auth import OidcSettings
from tests.support.identity import Identity, claims_of
from tests.support.infrastructure import REPO

pytestmark = pytest.mark.integration

REALM_FILE = REPO / "deploy" / "keycloak" / "songtor-realm.json"


def intake_app(tmp_path, issuer: str, **oidc):  # noqa: ANN001, ANN201
    settings = IntakeSettings(database_url=f"sqlite:///{tmp_path}/intake.db",
                              oidc=OidcSettings(issuer=issuer, **oidc))
    return build_app(settings)


async def needs(app, token: str | None) -> httpx.Response:  # noqa: ANN001
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        return await client.get("/v1/needs", headers=headers)


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def published_kids(issuer: str) -> set[str]:
    return {key["kid"] for key in httpx.get(f"{issuer}/protocol/openid-connect/certs", timeout=30).json()["keys"]}


@pytest.fixture
def own_realm(identity: Identity) -> Iterator[Identity]:
    """A copy of the demo realm under a name of this test's own, with 8-second access tokens."""
    name = f"songtor-t{uuid.uuid4().hex[:8]}"
    realm = json.loads(REALM_FILE.read_text(encoding="utf-8")) | {"realm": name, "accessTokenLifespan": 8}
    with httpx.Client(base_url=f"{identity.base}/admin", timeout=60,
                      headers={"Authorization": f"Bearer {identity.keycloak.admin_token()}"}) as admin:
        admin.post("/realms", json=realm).raise_for_status()
    try:
        yield Identity(issuer=f"{identity.base}/realms/{name}", keycloak=identity.keycloak)
    finally:
        with httpx.Client(base_url=f"{identity.base}/admin", timeout=60,
                          headers={"Authorization": f"Bearer {identity.keycloak.admin_token()}"}) as admin:
            admin.delete(f"/realms/{name}")


async def test_a_demo_users_token_from_keycloak_is_accepted(identity, tmp_path):
    app = intake_app(tmp_path, identity.issuer)
    token = identity.token("clerk-6406")
    claims = claims_of(token)
    assert claims["iss"] == identity.issuer and "songtor" in (claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]])
    assert claims["roles"] == ["intake_clerk"] and claims["org_units"] == ["6406"]
    answer = await needs(app, token)
    assert answer.status_code == 200, answer.text
    assert {need["code"] for need in answer.json()["needs"]} >= {"job_registration", "skill_training"}

    missing = await needs(app, None)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == 'Bearer realm="songtor"'


async def test_a_disabled_user_gets_no_new_token_and_the_old_one_dies_with_its_lifetime(own_realm, tmp_path):
    app = intake_app(tmp_path, own_realm.issuer, leeway_seconds=0)
    token = own_realm.token("clerk-6406")
    assert (await needs(app, token)).status_code == 200

    own_realm.set_enabled("clerk-6406", enabled=False)
    own_realm.forget("clerk-6406")
    refused = httpx.post(f"{own_realm.issuer}/protocol/openid-connect/token", timeout=30, data={
        "grant_type": "password", "client_id": "songtor-cli", "username": "clerk-6406", "password": "clerk-6406"})
    assert refused.status_code in (400, 401) and refused.json()["error"] == "invalid_grant", refused.text

    # Bearer tokens are not looked up on each call: the last one works until it expires, which
    # is why access tokens are short-lived. Then it is refused.
    expires = claims_of(token)["exp"]
    time.sleep(max(0.0, expires - time.time() + 1.5))
    expired = await needs(app, token)
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["www-authenticate"] and "expired" in expired.json()["detail"]


async def test_after_a_key_rotation_new_tokens_work_and_the_removed_keys_tokens_are_refused(own_realm, tmp_path):
    app = intake_app(tmp_path, own_realm.issuer, jwks_max_age_seconds=2, jwks_min_refresh_seconds=0)
    old_token = own_realm.token("province-64")
    assert kid_of(old_token) in published_kids(own_realm.issuer)
    assert (await needs(app, old_token)).status_code == 200

    with own_realm.admin() as admin:
        realm_id = admin.get("").json()["id"]
        old_providers = [c for c in admin.get("/components", params={"type": "org.keycloak.keys.KeyProvider"}).json()
                         if c["providerId"] in ("rsa-generated", "rsa")]
        admin.post("/components", json={
            "name": "rotated", "providerId": "rsa-generated", "providerType": "org.keycloak.keys.KeyProvider",
            "parentId": realm_id, "config": {"priority": ["500"], "keySize": ["2048"], "algorithm": ["RS256"]},
        }).raise_for_status()
    own_realm.forget("province-64")
    new_token = own_realm.token("province-64")
    assert kid_of(new_token) != kid_of(old_token), "Keycloak did not sign with the new key"

    # The same running app: the unknown key id makes it read the issuer's keys again.
    assert (await needs(app, new_token)).status_code == 200

    with own_realm.admin() as admin:
        for provider in old_providers:
            admin.delete(f"/components/{provider['id']}").raise_for_status()
    assert kid_of(old_token) not in published_kids(own_realm.issuer)

    time.sleep(2.5)  # jwks_max_age_seconds: the keys are read again, without the removed one
    refused = await needs(app, old_token)
    assert refused.status_code == 401 and "key" in refused.json()["detail"], refused.text
    assert (await needs(app, new_token)).status_code == 200
