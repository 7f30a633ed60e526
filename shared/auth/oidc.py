"""Checking bearer tokens against the issuer's published keys (OpenID Connect discovery + JWKS).

PyJWT does the cryptography and the claim checks; this module only keeps the keys: read from
the `jwks_uri` of the issuer's discovery document, kept for `jwks_max_age_seconds`, and read
again early when a token names a key id not seen yet (a rotation), at most every
`jwks_min_refresh_seconds` so that made-up key ids cannot turn into a flood of requests."""

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from shared.auth.principal import Principal, Role
from shared.auth.settings import OidcSettings


class TokenRejected(Exception):
    """The token does not prove who is calling; `reason` is safe to show the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IssuerUnreachable(Exception):
    """The issuer's discovery document or keys cannot be read right now."""


@dataclass
class _KeySet:
    keys: dict[str, jwt.PyJWK]
    read_at: float


class IssuerKeys:
    """The signing keys of one issuer, read over HTTP and cached."""

    def __init__(self, settings: OidcSettings, *, client: httpx.AsyncClient | None = None) -> None:
        if not settings.issuer:
            raise ValueError("no issuer configured")
        self._settings = settings
        self._client = client
        self._jwks_uri: str | None = None
        self._metadata: dict[str, Any] | None = None
        self._cached: _KeySet | None = None
        self._last_refresh_attempt = 0.0
        self._lock = asyncio.Lock()

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            if self._client is not None:
                answer = await self._client.get(url)
            else:
                async with httpx.AsyncClient(timeout=self._settings.http_timeout_seconds) as client:
                    answer = await client.get(url)
            answer.raise_for_status()
            return answer.json()
        except (httpx.HTTPError, ValueError) as error:
            raise IssuerUnreachable(f"{url}: {error}") from error

    async def metadata(self) -> dict[str, Any]:
        """The discovery document; its `issuer` must be the configured one (OIDC Discovery 4.3)."""
        if self._metadata is None:
            issuer = self._settings.issuer.rstrip("/")
            found = await self._get_json(self._settings.discovery_url or f"{issuer}/.well-known/openid-configuration")
            if found.get("issuer", "").rstrip("/") != issuer:
                raise IssuerUnreachable(f"discovery document names issuer {found.get('issuer')!r}, not {issuer!r}")
            self._metadata = found
        return self._metadata

    async def _read_keys(self) -> _KeySet:
        jwks = await self._get_json((await self.metadata())["jwks_uri"])
        keys: dict[str, jwt.PyJWK] = {}
        for entry in jwks.get("keys", []):
            if entry.get("use", "sig") != "sig" or "kid" not in entry:
                continue
            try:
                keys[entry["kid"]] = jwt.PyJWK.from_dict(entry)
            except (jwt.PyJWKError, jwt.InvalidKeyError):
                continue  # a key type this library cannot use (e.g. an encryption key) is skipped
        return _KeySet(keys=keys, read_at=time.monotonic())

    async def key(self, kid: str) -> jwt.PyJWK:
        async with self._lock:
            now = time.monotonic()
            stale = self._cached is None or now - self._cached.read_at > self._settings.jwks_max_age_seconds
            unknown = self._cached is not None and kid not in self._cached.keys
            may_refresh = now - self._last_refresh_attempt >= self._settings.jwks_min_refresh_seconds
            if stale or (unknown and may_refresh):
                self._last_refresh_attempt = now
                self._cached = await self._read_keys()
            assert self._cached is not None
            found = self._cached.keys.get(kid)
        if found is None:
            raise TokenRejected("the token is signed with a key the issuer does not publish")
        return found


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _strings(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(v for v in value.replace(",", " ").split() if v)
    if isinstance(value, list | tuple):
        return frozenset(str(v) for v in value if v)
    return frozenset()


def principal_from_claims(claims: Mapping[str, Any], settings: OidcSettings) -> Principal:
    known = {role.value for role in Role}
    roles = frozenset(Role(name) for name in _strings(_claim(claims, settings.roles_claim)) if name in known)
    agency = _claim(claims, settings.agency_claim)
    if isinstance(agency, list):
        agency = agency[0] if len(agency) == 1 else None  # an officer works for exactly one agency
    return Principal(
        subject=str(claims["sub"]),
        username=str(claims.get("preferred_username") or claims["sub"]),
        roles=roles,
        org_units=_strings(_claim(claims, settings.org_units_claim)),
        provinces=_strings(_claim(claims, settings.provinces_claim)),
        agency=str(agency) if agency else None,
    )


class TokenVerifier:
    """Bearer token -> Principal, or TokenRejected saying why."""

    def __init__(self, settings: OidcSettings, *, keys: IssuerKeys | None = None) -> None:
        self.settings = settings
        self.keys = keys or IssuerKeys(settings)

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as error:
            raise TokenRejected("not a JSON Web Token") from error
        if header.get("alg") not in self.settings.algorithms:
            raise TokenRejected(f"signing algorithm {header.get('alg')!r} is not accepted")
        kid = header.get("kid")
        if not kid:
            raise TokenRejected("the token names no signing key (kid)")
        key = await self.keys.key(str(kid))
        try:
            claims = jwt.decode(
                token, key=key, algorithms=self.settings.algorithms, audience=self.settings.audience,
                issuer=self.settings.issuer, leeway=self.settings.leeway_seconds,
                options={"require": ["exp", "iat", "iss", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenRejected("the token has expired") from error
        except jwt.ImmatureSignatureError as error:
            raise TokenRejected("the token is not valid yet") from error
        except jwt.InvalidAudienceError as error:
            raise TokenRejected(f"the token is not meant for this service (audience {self.settings.audience!r})") from error
        except jwt.InvalidIssuerError as error:
            raise TokenRejected("the token comes from another issuer") from error
        except jwt.InvalidTokenError as error:
            raise TokenRejected(f"the token is not valid: {error}") from error
        if claims.get("typ") not in (None, "Bearer", "at+jwt"):
            raise TokenRejected(f"a {claims.get('typ')} token is not an access token")
        return principal_from_claims(claims, self.settings)
