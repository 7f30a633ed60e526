from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from agency_adapters.deadlines import DeadlinePolicy
from shared.agencies import AGENCIES, Agency

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

    @field_validator("agencies")
    @classmethod
    def _each_agency_once(cls, agencies: tuple[Agency, ...]) -> tuple[Agency, ...]:
        # A repeated name would subscribe the agency twice in one group: a slip in the deployment.
        repeated = sorted({a for a in agencies if agencies.count(a) > 1})
        if repeated:
            raise ValueError(f"each agency may be named once; repeated: {', '.join(repeated)}")
        return agencies
