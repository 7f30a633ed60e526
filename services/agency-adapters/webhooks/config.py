"""How one agency's own system is linked: set per agency in AGENCY_WEBHOOKS, e.g.
AGENCY_WEBHOOKS='{"skills": {"url": "https://dsd.example/songtor", "secret": "..."}}'. Without a
url the system reads its referrals from Kafka itself (docs/agency-it.md) and only calls back."""

from collections.abc import Mapping

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr


class WebhookTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: AnyHttpUrl | None = Field(default=None, description="Where referrals are POSTed; unset when the "
                                   "agency's system reads them from Kafka and only reports moves back.")
    # One shared secret per agency: we sign deliveries with it and the agency signs its callbacks.
    secret: SecretStr = Field(min_length=16, description="HMAC-SHA256 key shared with the agency's IT team.")
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    max_attempts: int = Field(default=8, ge=1, le=100, description="Failed attempts before the delivery is parked.")
    backoff_base_seconds: float = Field(default=2.0, gt=0)
    backoff_cap_seconds: float = Field(default=600.0, gt=0)
    breaker_failures: int = Field(default=5, ge=1, description="Failures in a row that open the circuit.")
    breaker_cooldown_seconds: float = Field(default=60.0, gt=0)
    concurrency: int = Field(default=4, ge=1, le=64, description="Deliveries in flight at once.")


def pushed_to(targets: Mapping[str, WebhookTarget]) -> dict[str, WebhookTarget]:
    """The links we push referrals to (the others only call back)."""
    return {agency: target for agency, target in targets.items() if target.url is not None}
