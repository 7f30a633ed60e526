from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REPORTING_", extra="ignore")

    http_port: int = 8084
    database_url: str = "sqlite:///.data/reporting.db"
    timezone: str = "Asia/Bangkok"
    # The same outcome codes the agencies complete with: the forms print their labels.
    outcomes_path: Path | None = Field(default=None, description="Outcome codes file instead of the shipped one.")
    # Due days of the month close (Asia/Bangkok): SP-12 on this day of its month, SNB-2 of the next.
    sp12_due_day: int = Field(default=25, ge=1, le=31)
    snb2_due_day: int = Field(default=5, ge=1, le=31)
    close_scan_seconds: float = Field(default=300.0, gt=0, description="How often due closes and amendments are looked for.")
    ops_scan_seconds: float = Field(default=15.0, gt=0, description="How often the ops view asks the broker for lag.")
