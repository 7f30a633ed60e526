from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")

    http_port: int = 8082
    # Routing keeps no state of its own: its ids are derived, so a replay changes nothing.
    database_url: str = ""
