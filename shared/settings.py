"""Settings base classes. Every value a service reads comes through pydantic-settings.

Kafka and privacy settings are shared by all services (env prefixes KAFKA_ and SONGTOR_);
each service adds its own with its own prefix (INTAKE_, ROUTING_, AGENCY_, REPORTING_).
"""

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth.settings import OidcSettings
from shared.topics import Topics

_DEV_PERSON_REF_KEY = "songtor-dev-only-person-ref-key"


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = Field(default="127.0.0.1:9092", description="host:port[,host:port]")
    topic_prefix: str = Field(default="", description="Namespace for every topic name.")
    group_prefix: str = Field(default="songtor.", description="Namespace for consumer groups.")
    partitions: int = Field(default=3, ge=1, description="Partitions for topics this service creates.")

    @property
    def topics(self) -> Topics:
        return Topics(prefix=self.topic_prefix)

    def group(self, name: str) -> str:
        return f"{self.group_prefix}{name}"


class PrivacySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SONGTOR_", extra="ignore")

    environment: str = Field(default="local", description="local | test | production")
    person_ref_key: str = Field(default=_DEV_PERSON_REF_KEY, description="HMAC key for person_ref.")

    @model_validator(mode="after")
    def _refuse_dev_key_outside_local(self) -> "PrivacySettings":
        if self.environment == "production" and self.person_ref_key == _DEV_PERSON_REF_KEY:
            raise ValueError("SONGTOR_PERSON_REF_KEY must be set to a secret in production")
        return self


class CatalogSettings(BaseSettings):
    """One catalog for all services: intake validates against it, routing routes by it,
    reporting counts by it."""

    model_config = SettingsConfigDict(env_prefix="SONGTOR_", extra="ignore")

    catalog_path: Path | None = Field(
        default=None, description="A need catalog file to use instead of the one shipped."
    )


class ServiceSettings(BaseSettings):
    """Base for each service's settings; subclasses set their own env_prefix."""

    model_config = SettingsConfigDict(extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int
    database_url: str = Field(description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://...")
    log_level: str = "INFO"
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    oidc: OidcSettings = Field(default_factory=OidcSettings)
    api_docs: bool = Field(default=False, description="Serve the interactive /docs page (off in production).")
