from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from reporting.national_feed.settings import NationalFeedSettings
from shared.privacy import SealingSettings
from shared.settings import KafkaSettings, ServiceSettings


class ReportingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REPORTING_", extra="ignore")

    http_port: int = 8084
    database_url: str = "sqlite:///.data/reporting.db"
    timezone: str = "Asia/Bangkok"
    # The master keys that unwrap the person keys it keeps (SONGTOR_MASTER_KEYS…): the forms list people.
    sealing: SealingSettings = Field(default_factory=SealingSettings)
    # The feed of consented rehabilitation and CI-centre people's help to the national system
    # (NATIONAL_FEED_*: docs/national-feed.md); off without a target.
    national_feed: NationalFeedSettings = Field(default_factory=NationalFeedSettings)
    # The same outcome codes the agencies complete with: the forms print their labels.
    outcomes_path: Path | None = Field(default=None, description="Outcome codes file instead of the shipped one.")
    # Due days of the month close (Asia/Bangkok): SP-12 on this day of its month, SNB-2 of the next.
    sp12_due_day: int = Field(default=25, ge=1, le=31)
    snb2_due_day: int = Field(default=5, ge=1, le=31)
    close_scan_seconds: float = Field(default=300.0, gt=0, description="How often due closes and amendments are looked for.")
    close_in_child_process: bool = Field(
        default=True, description="Build each form version of the month close in a short-lived child process, "
        "so that the service's memory stays flat (closing/child.py); an in-memory database builds in process.")
    ops_scan_seconds: float = Field(default=15.0, gt=0, description="How often the ops view asks the broker for lag.")
    # The ops view logs in as a principal of its own (docs/operations.md): it describes every topic
    # and group, reads only the dead-letter topics and writes the event topics for a re-drive, while
    # reporting's own principal reads the payload topics and writes none of them.
    ops_kafka_username: str = Field(default="songtor-ops", description="The ops view's Kafka principal.")
    ops_kafka_password: SecretStr | None = Field(default=None, description="Its password; prefer the file.")
    ops_kafka_password_file: Path | None = Field(default=None, description="A file holding its password "
                                                 "(read at each new connection, so a rotated file is used).")

    def ops_kafka(self) -> KafkaSettings:
        """The ops view's KafkaSettings: the service's broker, CA, protocol and prefixes, its own login."""
        return self.kafka.model_copy(update={"username": self.ops_kafka_username,
                                             "password": self.ops_kafka_password,
                                             "password_file": self.ops_kafka_password_file})

    def close_database_url(self) -> str | None:
        """The URL a child process of the month close opens, or None to build in this process."""
        in_memory = self.database_url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in self.database_url
        return self.database_url if self.close_in_child_process and not in_memory else None
