"""What one service's database holds: its tables as the models declare them, and the folder of
the migrations that make them. Each service declares its ServiceSchema once, in its migrations
package (services/<service>/migrations/__init__.py); the service's start-up and the migrate command
(`python -m shared.db.migrate`) both read that declaration, so the tables a service expects and the
tables its migrations make are one list (tests/unit/test_migrations_agree.py holds them together)."""

from dataclasses import dataclass
from functools import cached_property
from importlib import import_module
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import MetaData, Table

# Every service with a database, and the package that declares its schema. The migrate command
# looks a service up here by name; nothing else needs the list.
SCHEMA_PACKAGES = {
    "intake": "intake.migrations",
    "routing": "routing.migrations",
    "agency-adapters": "agency_adapters.migrations",
    "reporting": "reporting.migrations",
}


@dataclass(frozen=True)
class ServiceSchema:
    service: str
    tables: tuple[Table, ...]
    versions: Path  # services/<service>/migrations/versions: this service's revisions, oldest first
    settings: type[BaseSettings]  # the service's settings: where its DATABASE_URL is read from

    @cached_property
    def metadata(self) -> MetaData:
        """The service's tables alone. SQLModel.metadata holds every service's tables once they are
        all imported (as in the tests), and a comparison with it would report the others' as missing."""
        metadata = MetaData()
        for table in self.tables:
            table.to_metadata(metadata)
        return metadata

    @property
    def env_prefix(self) -> str:
        return str(self.settings.model_config.get("env_prefix", ""))

    def configured_url(self) -> str:
        """The database URL the service itself would use: <PREFIX>DATABASE_URL, or its default.
        Read through a settings class of that one field, so the migrate command does not need the
        service's other settings (its Kafka login, keys, issuer) to be set."""
        database = type("ServiceDatabase", (BaseSettings,), {
            "__annotations__": {"database_url": str},
            "database_url": self.settings.model_fields["database_url"].default,
            "model_config": SettingsConfigDict(env_prefix=self.env_prefix, extra="ignore"),
        })
        return database().database_url

    def upgrade_command(self) -> str:
        """The command that brings this service's database to the code's schema (said in errors)."""
        return f"python -m shared.db.migrate --service {self.service} upgrade"


def schema_of(service: str) -> ServiceSchema:
    if service not in SCHEMA_PACKAGES:
        raise ValueError(f"no service {service!r}; one of: {', '.join(SCHEMA_PACKAGES)}")
    return import_module(SCHEMA_PACKAGES[service]).SCHEMA
