"""Which identity provider the services trust, and how its tokens name roles and scope.

There is no default issuer: a service with none refuses to start (fail closed)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OidcSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SONGTOR_OIDC_", extra="ignore")

    issuer: str | None = Field(
        default=None, description="The issuer URL exactly as in its tokens' `iss`, e.g. "
        "https://sso.example.go.th/realms/songtor; its /.well-known/openid-configuration is read.",
    )
    discovery_url: str | None = Field(
        default=None, description="Where to read the discovery document when the services reach the issuer at "
        "another address than its `iss` (e.g. inside docker-compose); default: <issuer>/.well-known/openid-configuration.",
    )
    audience: str = Field(default="songtor", description="The `aud` every access token must carry.")
    algorithms: list[str] = Field(default=["RS256", "PS256", "ES256"], description="Accepted JWS algorithms.")
    leeway_seconds: int = Field(default=30, ge=0, le=300, description="Clock skew allowed on exp and nbf.")
    jwks_max_age_seconds: int = Field(
        default=300, ge=1, description="Keys are read again after this long, so a removed key stops working.",
    )
    jwks_min_refresh_seconds: float = Field(
        default=5.0, ge=0, description="A token with an unknown key id re-reads the keys at most this often.",
    )
    roles_claim: str = Field(default="roles", description="Claim with the role names (dotted path allowed).")
    org_units_claim: str = Field(default="org_units")
    provinces_claim: str = Field(default="provinces")
    agency_claim: str = Field(default="agency")
    web_client_id: str = Field(default="songtor-web", description="Public client of the browser pages (PKCE).")
    http_timeout_seconds: float = Field(default=10.0, gt=0)
