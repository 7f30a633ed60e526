"""The real identity provider of the tests: the project's Keycloak (deploy/keycloak/keycloak.sh)
with the demo realm, started once per test session and kept between sessions (.data/test).

`Identity.auth(user)` is an httpx auth that sends that user's access token, fetched with the
password grant of the songtor-cli client and fetched again before it expires (tokens live five
minutes; some tests run longer). Users beyond the demo realm's are created through Keycloak's
admin API with `ensure_user`, so a test can have e.g. a clerk of org unit 2401."""

import base64
import json
import os
import subprocess
import threading
import time
from collections.abc import Generator, Iterable

import httpx

from tests.support.infrastructure import REPO, TEST_DATA, InfrastructureError, _run

KEYCLOAK_SCRIPT = REPO / "deploy" / "keycloak" / "keycloak.sh"
TEST_KEYCLOAK_PORT = int(os.environ.get("SONGTOR_TEST_KEYCLOAK_PORT", "18180"))
CLI_CLIENT = "songtor-cli"


def claims_of(token: str) -> dict:
    """The token's payload, unverified: for tests that look at what Keycloak put in it."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class KeycloakForTests:
    def __init__(self) -> None:
        self.env = {"KEYCLOAK_PORT": str(TEST_KEYCLOAK_PORT), "KEYCLOAK_DATA_DIR": str(TEST_DATA / "keycloak")}
        self._started = False

    def start(self) -> str:
        already = subprocess.run(["bash", str(KEYCLOAK_SCRIPT), "status"], env={**os.environ, **self.env},
                                 capture_output=True, check=False).returncode == 0
        issuer = _run(["bash", str(KEYCLOAK_SCRIPT), "start"], env=self.env, timeout=900).strip().splitlines()[-1]
        self._started = not already
        return issuer

    def admin_token(self) -> str:
        return _run(["bash", str(KEYCLOAK_SCRIPT), "admin-token"], env=self.env).strip()

    def stop(self) -> None:
        # Left running when another session started it; stopped otherwise (its data stays).
        if self._started:
            _run(["bash", str(KEYCLOAK_SCRIPT), "stop"], env=self.env)


class _UserAuth(httpx.Auth):
    def __init__(self, identity: "Identity", username: str) -> None:
        self.identity, self.username = identity, username

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.identity.token(self.username)}"
        yield request


class Identity:
    def __init__(self, *, issuer: str, keycloak: KeycloakForTests) -> None:
        self.issuer = issuer
        self.base = issuer.split("/realms/")[0]
        self.realm = issuer.rsplit("/", 1)[-1]
        self.keycloak = keycloak
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def token(self, username: str, *, password: str | None = None) -> str:
        with self._lock:
            cached = self._tokens.get(username)
            if cached and cached[1] - time.time() > 60:
                return cached[0]
        answer = httpx.post(f"{self.issuer}/protocol/openid-connect/token", timeout=30, data={
            "grant_type": "password", "client_id": CLI_CLIENT, "username": username, "password": password or username,
        })
        if answer.status_code != 200:
            raise InfrastructureError(f"no token for {username}: {answer.status_code} {answer.text}")
        token = answer.json()["access_token"]
        with self._lock:
            self._tokens[username] = (token, float(claims_of(token)["exp"]))
        return token

    def auth(self, username: str) -> httpx.Auth:
        return _UserAuth(self, username)

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def forget(self, username: str) -> None:
        with self._lock:
            self._tokens.pop(username, None)

    # -- the admin API, for users and keys the demo realm does not have

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.base}/admin/realms/{self.realm}", timeout=30,
                            headers={"Authorization": f"Bearer {self.keycloak.admin_token()}"})

    def ensure_user(
        self, username: str, *, roles: Iterable[str], org_units: Iterable[str] = (), provinces: Iterable[str] = (),
        agency: str | None = None,
    ) -> str:
        """A user with these roles and scope (password = user name), created once per Keycloak data dir."""
        attributes = {"org_units": list(org_units), "provinces": list(provinces), **({"agency": [agency]} if agency else {})}
        with self.admin() as admin:
            found = admin.get("/users", params={"username": username, "exact": "true"}).json()
            if found:
                return username
            created = admin.post("/users", json={
                "username": username, "enabled": True, "emailVerified": True, "firstName": username,
                "lastName": "test", "email": f"{username}@songtor.invalid", "attributes": attributes,
                "credentials": [{"type": "password", "value": username, "temporary": False}],
            })
            if created.status_code not in (201, 409):
                raise InfrastructureError(f"cannot create {username}: {created.status_code} {created.text}")
            user_id = admin.get("/users", params={"username": username, "exact": "true"}).json()[0]["id"]
            wanted = [admin.get(f"/roles/{name}").json() for name in roles]
            answer = admin.post(f"/users/{user_id}/role-mappings/realm", json=wanted)
            if answer.status_code != 204:
                raise InfrastructureError(f"cannot give {username} roles {list(roles)}: {answer.text}")
        return username

    def set_enabled(self, username: str, *, enabled: bool) -> None:
        with self.admin() as admin:
            user = admin.get("/users", params={"username": username, "exact": "true"}).json()[0]
            admin.put(f"/users/{user['id']}", json={**user, "enabled": enabled}).raise_for_status()
