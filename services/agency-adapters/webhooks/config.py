"""How one agency's own system is linked: set per agency in AGENCY_WEBHOOKS, e.g.
AGENCY_WEBHOOKS='{"skills": {"url": "https://dsd.example/songtor", "secret": "..."}}'. Without a
url the system reads its referrals from Kafka itself (docs/agency-it.md) and only calls back.
Timeouts, retries, the breaker and mutual TLS are the shared delivery settings (HttpTarget)."""

from collections.abc import Mapping

from pydantic import AnyHttpUrl, Field, SecretStr

from shared.delivery.target import HttpTarget


class WebhookTarget(HttpTarget):
    url: AnyHttpUrl | None = Field(default=None, description="Where referrals are POSTed; unset when the "
                                   "agency's system reads them from Kafka and only reports moves back.")
    # One shared secret per agency: we sign deliveries with it and the agency signs its callbacks,
    # so it is required even for a link whose deliveries rely on mutual TLS alone.
    secret: SecretStr = Field(min_length=16, description="HMAC-SHA256 key shared with the agency's IT team.")


def pushed_to(targets: Mapping[str, WebhookTarget]) -> dict[str, WebhookTarget]:
    """The links we push referrals to (the others only call back)."""
    return {agency: target for agency, target in targets.items() if target.url is not None}
