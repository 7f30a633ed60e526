"""A signing key of the tests' own, for in-process apps that run without Keycloak: it mints
real RS256 JWTs that the services' verifier checks like any other (signature, issuer, audience,
expiry). It also plays the impostor: another issuer, another audience, an expired token."""

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from shared.auth import OidcSettings, TokenVerifier
from shared.auth.oidc import TokenRejected

LOCAL_ISSUER = "https://issuer.songtor.test/realms/songtor"


class StaticKeys:
    """IssuerKeys' interface over keys held in memory (no HTTP)."""

    def __init__(self, issuer: str, keys: dict[str, Any]) -> None:
        self.issuer, self._keys = issuer, keys

    async def metadata(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/protocol/openid-connect/auth",
                "token_endpoint": f"{self.issuer}/protocol/openid-connect/token"}

    async def key(self, kid: str) -> Any:
        if kid not in self._keys:
            raise TokenRejected("the token is signed with a key the issuer does not publish")
        return jwt.PyJWK.from_dict(jwt.algorithms.RSAAlgorithm.to_jwk(self._keys[kid], as_dict=True) | {"kid": kid})


class LocalIssuer:
    def __init__(self, issuer: str = LOCAL_ISSUER, audience: str = "songtor") -> None:
        self.issuer, self.audience = issuer, audience
        self.kid = uuid.uuid4().hex
        self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.settings = OidcSettings(issuer=issuer, audience=audience)
        self.verifier = TokenVerifier(self.settings, keys=StaticKeys(issuer, {self.kid: self._private.public_key()}))

    def mint(
        self, subject: str = "user-1", *, roles: tuple[str, ...] = (), org_units: tuple[str, ...] = (),
        provinces: tuple[str, ...] = (), agency: str | None = None, lifetime: int = 300, not_before: int = 0,
        audience: str | None = None, issuer: str | None = None, **extra: Any,
    ) -> str:
        now = int(time.time())
        claims = {"iss": issuer or self.issuer, "aud": audience or self.audience, "sub": subject,
                  "preferred_username": subject, "iat": now, "exp": now + lifetime, "typ": "Bearer",
                  "roles": list(roles), "org_units": list(org_units), "provinces": list(provinces), **extra}
        if not_before:
            claims["nbf"] = now + not_before
        if agency:
            claims["agency"] = agency
        return jwt.encode(claims, self._private, algorithm="RS256", headers={"kid": self.kid})

    def headers(self, *roles: str, **scope: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.mint(roles=roles, **scope)}"}

    def trust(self, app: FastAPI) -> FastAPI:
        """Make an app built for another issuer check tokens against this one."""
        app.state.auth.verifier = self.verifier
        return app
