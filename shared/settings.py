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
# Where development defaults (keys, passwords) are allowed; anything else, unset included, refuses them.
DEVELOPMENT_ENVIRONMENTS = frozenset({"local", "test"})


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

    environment: str | None = Field(
        default=None, description="local | test | production. Development defaults (the person_ref key) are "
        "accepted only when this says local or test: unset counts as production.",
    )
    person_ref_key: str = Field(default=_DEV_PERSON_REF_KEY, description="HMAC key for person_ref.")

    @model_validator(mode="after")
    def _refuse_dev_key_outside_local(self) -> "PrivacySettings":
        if self.person_ref_key == _DEV_PERSON_REF_KEY and not self.development:
            raise ValueError(
                "SONGTOR_PERSON_REF_KEY is the development key, which is accepted only when SONGTOR_ENVIRONMENT is "
                f"'local' or 'test' (it is {self.environment or 'unset'}): set SONGTOR_PERSON_REF_KEY to a secret "
                "of at least 32 random characters, the same in every service, kept outside the repository."
            )
        if not self.development and len(self.person_ref_key) < 32:
            raise ValueError("SONGTOR_PERSON_REF_KEY must be at least 32 characters outside local and test.")
        return self

    @property
    def development(self) -> bool:
        return self.environment in DEVELOPMENT_ENVIRONMENTS


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
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, description="Largest request body, chunked or not.")
    api_docs: bool = Field(default=False, description="Serve the interactive /docs page (off in production).")
