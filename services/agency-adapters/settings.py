from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class AgencySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AGENCY_", extra="ignore")

    http_port: int = 8083
    database_url: str = "sqlite:///.data/agency-adapters.db"
    outcomes_path: Path | None = Field(default=None, description="Outcome codes file instead of the shipped one.")
