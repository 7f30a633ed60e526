from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")

    http_port: int = 8082
    # Routing records every decision (for GET /v1/referrals/{id}/routing and triage).
    database_url: str = "sqlite:///.data/routing.db"
