from pydantic import Field
from pydantic_settings import SettingsConfigDict

from intake.bulk.settings import BulkSettings
from shared.privacy import SealingSettings
from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    http_port: int = 8081
    database_url: str = "sqlite:///.data/intake.db"
    max_body_bytes: int = 64 * 1024
    # Intakes arriving while a transaction runs share the next one (group_commit.py): at most this many.
    group_commit_max: int = Field(default=64, ge=1, le=1000)
    # Sheets uploaded to POST /v1/intakes/bulk (env INTAKE_BULK_*): their own, larger size limit.
    bulk: BulkSettings = Field(default_factory=BulkSettings)
    # The master keys that wrap person keys (SONGTOR_MASTER_KEYS…): intake issues them.
    sealing: SealingSettings = Field(default_factory=SealingSettings)
