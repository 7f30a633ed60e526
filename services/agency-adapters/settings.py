from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class AgencySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AGENCY_", extra="ignore")

    http_port: int = 8083
    database_url: str = "sqlite:///.data/agency-adapters.db"
