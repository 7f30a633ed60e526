"""Settings base classes. Every value a service reads comes through pydantic-settings.

Kafka and privacy settings are shared by all services (env prefixes KAFKA_ and SONGTOR_);
each service adds its own with its own prefix (INTAKE_, ROUTING_, AGENCY_, REPORTING_).
"""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth.settings import OidcSettings
from shared.retention.settings import RetentionSettings
from shared.topics import Topics

_DEV_PERSON_REF_KEY = "songtor-dev-only-person-ref-key"
# Where development defaults (keys, passwords) are allowed; anything else, unset included, refuses them.
DEVELOPMENT_ENVIRONMENTS = frozenset({"local", "test"})


class LeaseSettings(BaseSettings):
    """Background leases (env prefix SONGTOR_LEASE_, the same for every service)."""

    model_config = SettingsConfigDict(env_prefix="SONGTOR_LEASE_", extra="ignore")

    ttl_seconds: float = Field(
        default=15.0, gt=0, le=3600,
        description="How long a background job's lease lasts unless renewed (every third of it). A copy that "
        "dies (kill -9) holding it is replaced by another within this time and one more third.",
    )


def bootstrap_hosts(servers: str) -> list[str]:
    """Each host:port of a bootstrap list "a:1,b:2": FastStream takes a string as one single host."""
    return [host.strip() for host in servers.split(",") if host.strip()]


def replication_for(brokers: int) -> tuple[int, int]:
    """(replicas, in sync) of a cluster of `brokers`: 3 and 2 from three brokers up, as the broker
    script sets its own topics (deploy/kafka/kafka.sh); everything on one broker alone."""
    factor = min(brokers, 3)
    return factor, max(1, factor - 1)


class KafkaSettings(BaseSettings):
    """Where the broker is, who this process is on it, and the shape of the topics it expects.

    Every service logs in with a principal of its own (docs/kafka-security.md): the password
    comes from KAFKA_PASSWORD or, better, a file (KAFKA_PASSWORD_FILE) that a secret store mounts.
    """

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = Field(default="127.0.0.1:9092", description="host:port[,host:port]")
    topic_prefix: str = Field(default="", description="Namespace for every topic name.")
    group_prefix: str = Field(default="songtor.", description="Namespace for consumer groups.")
    security_protocol: Literal["SASL_SSL", "SASL_PLAINTEXT", "SSL", "PLAINTEXT"] = Field(
        default="SASL_SSL", description="SASL_SSL everywhere real; the others only for a broker that offers no better.")
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    username: str | None = Field(default=None, description="This process's principal, e.g. songtor-routing.")
    password: SecretStr | None = Field(default=None, description="Its password; prefer password_file.")
    password_file: Path | None = Field(default=None, description="A file holding the password (read at start).")
    ssl_cafile: Path | None = Field(default=None, description="CA bundle that signed the broker's certificate "
                                    "(unset: the system's trust store).")
    # The declaration of the topics (shared/kafka/topology.py): what the set-up creates and what a
    # service checks at start.
    partitions: int = Field(default=3, ge=1, description="Partitions of every event topic.")
    replication_factor: int = Field(default=1, ge=1, description="Replicas of every topic (3 on a real cluster).")
    min_insync_replicas: int = Field(default=1, ge=1, description="Replicas that must have a write (2 on a "
                                     "real cluster).")
    single_broker_trial: bool = Field(
        default=False, description="Outside local and test, a service refuses a log of fewer than 3 replicas "
        "with 2 in sync; true lets a one-broker trial (docker-compose) start anyway. Never on a real deployment.")
    dead_letter_retention_days: int = Field(default=90, ge=1, description="How long a dead letter waits for its "
                                            "re-drive before the broker deletes it.")
    person_keys_compaction_seconds: int = Field(
        default=24 * 3600, ge=1, description="At most how long a person's key stays on person.keys after their "
        "erasure's tombstone (max.compaction.lag.ms and segment.ms).")
    person_keys_tombstone_seconds: int = Field(
        default=24 * 3600, ge=1, description="How long the tombstone itself stays (delete.retention.ms); a key-copy "
        "consumer away longer misses it, and the erasure request (person.erasures, kept) deletes its copy instead.")
    # The producer (shared/kafka/broker.py): a few milliseconds of linger turn an outbox batch into a
    # few requests instead of one per event; lz4 costs little CPU (cramjam provides it).
    producer_linger_ms: int = Field(default=5, ge=0, le=1000, description="How long the producer waits to fill "
                                    "a batch before sending it.")
    producer_compression: Literal["none", "gzip", "lz4", "zstd", "snappy"] = Field(
        default="lz4", description="Compression of the producer's batches (none, or a codec every consumer reads).")
    # What a consumer does with a failed message (shared/kafka/failures.py: which failures are
    # retried, and why an unanswering database or broker is retried without bound).
    consumer_retry_attempts: int = Field(
        default=12, ge=1, le=1000, description="Failed attempts of a message (a dependency outage meanwhile not "
        "counted) before it is dead-lettered with dlq.attempts; one that can never decode goes at once.")
    consumer_retry_first_backoff_seconds: float = Field(
        default=0.5, gt=0, le=60, description="Wait after a message's first failure; doubles with each failure.")
    # A consumer that waits longer than max.poll.interval.ms (5 minutes) is thrown out of its group.
    consumer_retry_max_backoff_seconds: float = Field(
        default=60.0, gt=0, le=240,
        description="The longest wait between two attempts (with jitter: half to all of it).")

    @property
    def topics(self) -> Topics:
        return Topics(prefix=self.topic_prefix)

    @property
    def bootstrap_hosts(self) -> list[str]:
        return bootstrap_hosts(self.bootstrap_servers)

    def group(self, name: str) -> str:
        return f"{self.group_prefix}{name}"

    def secret(self) -> str | None:
        """The password, from the file when one is named (read now, so a rotated file is used by the next
        connection this process makes)."""
        if self.password_file is not None:
            try:
                return self.password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"KAFKA_PASSWORD_FILE {self.password_file} cannot be read: {exc.strerror}") from exc
        return self.password.get_secret_value() if self.password is not None else None


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
    retention: RetentionSettings = Field(default_factory=RetentionSettings)  # SONGTOR_RETENTION_*, docs/retention.md
    leases: LeaseSettings = Field(default_factory=LeaseSettings)  # SONGTOR_LEASE_*: the background jobs run alone
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, description="Largest request body, chunked or not.")
    api_docs: bool = Field(default=False, description="Serve the interactive /docs page (off in production).")

    @model_validator(mode="after")
    def _replicated_outside_development(self) -> "ServiceSettings":
        """A deployment's log must survive a broker's loss: three copies of each write, two of them
        before it counts. The topics' own check at start (shared/kafka/topic_check.py) holds them to
        these numbers, so a lower number here would let an unreplicated topic pass."""
        kafka = self.kafka
        if self.privacy.development or kafka.single_broker_trial:
            return self
        if kafka.replication_factor < 3 or not 2 <= kafka.min_insync_replicas < kafka.replication_factor:
            raise ValueError(
                f"the Kafka log is not replicated enough for a deployment: KAFKA_REPLICATION_FACTOR="
                f"{kafka.replication_factor}, KAFKA_MIN_INSYNC_REPLICAS={kafka.min_insync_replicas}; set at least 3 "
                f"and 2 (fewer in sync than replicas, so one broker may be down), on a cluster of 3 brokers or more "
                f"(docs/operations.md#a-replicated-log)")
        return self
