"""The national feed's settings (NATIONAL_FEED_*), e.g.

    NATIONAL_FEED_ORG_UNITS='["6406","2401"]'      # the centres that joined ("*": every centre)
    NATIONAL_FEED_TARGET='{"url": "https://bsd.oncb.example/songtor/records", "secret": "…"}'

Without a target nothing is recorded or sent: the feed is off."""

from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.delivery.target import HttpTarget

EVERY_CENTRE = "*"


class NationalFeedSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NATIONAL_FEED_", extra="ignore")

    target: HttpTarget | None = Field(default=None, description="The national system's receiver; unset: no feed.")
    org_units: list[str] = Field(default_factory=list, description="Org units of the rehabilitation and CI centres "
                                 "that joined the feed, or [\"*\"] for every centre.")
    start: AwareDatetime | None = Field(default=None, description="Intakes received before this are not fed live "
                                        "(send them with the backfill command instead).")
    map_path: Path | None = Field(default=None, description="An assistance map instead of the shipped one.")
    scan_seconds: float = Field(default=1.0, gt=0, description="How often due records are looked for.")

    @property
    def enabled(self) -> bool:
        return self.target is not None and self.target.url is not None

    def joins(self, org_unit: str, received_at: datetime) -> bool:
        """Whether the live feed feeds an intake of this centre received then."""
        if EVERY_CENTRE not in self.org_units and org_unit not in self.org_units:
            return False
        return self.start is None or received_at >= self.start
