from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REPORTING_", extra="ignore")

    http_port: int = 8084
    database_url: str = "sqlite:///.data/reporting.db"
    timezone: str = "Asia/Bangkok"
