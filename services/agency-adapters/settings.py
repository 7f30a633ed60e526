from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from agency_adapters.deadlines import DeadlinePolicy
from agency_adapters.webhooks.config import WebhookTarget
from shared.agencies import AGENCIES, Agency

from shared.privacy import SealingSettings
from shared.settings import ServiceSettings


class AgencySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AGENCY_", extra="ignore")

    http_port: int = 8083
    database_url: str = "sqlite:///.data/agency-adapters.db"
    outcomes_path: Path | None = Field(default=None, description="Outcome codes file instead of the shipped one.")
    # Per-agency deadlines and escalation ladder, e.g. AGENCY_DEADLINES='{"skills": {"acknowledge_days": 3}}';
    # an agency not named gets the defaults (acknowledge in 2 working days, finish in 30).
    deadlines: dict[Agency, DeadlinePolicy] = Field(default_factory=dict)
    deadline_scan_seconds: float = Field(default=60.0, gt=0)
    # Which agencies' consumers this process runs, e.g. AGENCY_AGENCIES='["skills"]': one agency's
    # consumer can then be deployed, stopped and restarted on its own, the others untouched.
    agencies: tuple[Agency, ...] = Field(default=AGENCIES, min_length=1)
    # Agencies whose own systems receive their referrals by signed webhook, e.g.
    # AGENCY_WEBHOOKS='{"skills": {"url": "https://...", "secret": "..."}}'; the others use the workbench.
    webhooks: dict[Agency, WebhookTarget] = Field(default_factory=dict)
    webhook_scan_seconds: float = Field(default=1.0, gt=0, description="How often due deliveries are looked for.")
    # The master keys that unwrap the person keys it keeps (SONGTOR_MASTER_KEYS…).
    sealing: SealingSettings = Field(default_factory=SealingSettings)
    public_url: str | None = Field(
        default=None, description="This service's address as agency systems reach it, for callback URLs; "
        "default http://127.0.0.1:<http_port>.",
    )

    @property
    def callback_base_url(self) -> str:
        return self.public_url or f"http://127.0.0.1:{self.http_port}"

    @field_validator("agencies")
    @classmethod
    def _each_agency_once(cls, agencies: tuple[Agency, ...]) -> tuple[Agency, ...]:
        # A repeated name would subscribe the agency twice in one group: a slip in the deployment.
        repeated = sorted({a for a in agencies if agencies.count(a) > 1})
        if repeated:
            raise ValueError(f"each agency may be named once; repeated: {', '.join(repeated)}")
        return agencies
