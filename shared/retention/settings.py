"""How long personal data is kept, in days (env prefix SONGTOR_RETENTION_, the same for every
service; each service enforces the periods of the tables it has). docs/retention.md says why
each default is what it is."""

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class RetentionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SONGTOR_RETENTION_", extra="ignore")

    inbox_days: int = Field(
        default=180, ge=1,
        description="Consumers' inbox rows (event ids applied). Kafka redelivers only what a group has not "
        "committed (seconds to minutes), but a re-driven dead letter comes back to every group with its old "
        "event id up to KAFKA_DEAD_LETTER_RETENTION_DAYS after it was dead-lettered: kept longer than that "
        "(checked at start).",
    )
    outbox_days: int = Field(
        default=7, ge=1,
        description="Published outbox rows (their payloads carry the person). Pending rows are never purged.",
    )
    closed_referral_days: int = Field(
        default=365, ge=1,
        description="After a referral closes (completed, declined, unreachable, transferred, cancelled): the "
        "agency's copy of the person and the free text go; intake's stored intake loses its person once every "
        "referral of it is closed.",
    )
    bulk_job_days: int = Field(
        default=30, ge=1,
        description="After a sheet's job ends: its error report (what the clerk typed) and the job go; a "
        "forgotten uploaded file goes too.",
    )
    idempotency_days: int = Field(
        default=30, ge=1, description="Intake's stored first answers to an Idempotency-Key (a client retries "
        "within minutes; the answer quotes the person's age in its warnings).",
    )
    routed_note_days: int = Field(
        default=30, ge=1, description="Routing's copy of a need's free-text note, once the need is routed or "
        "triaged (only triage reads it).",
    )
    audit_days: int = Field(
        default=3650, ge=1,
        description="The audit log of personal-data reads (person_refs, never names): kept at least as long as "
        "the data it audits (checked), so that a person can ask who read them.",
    )
    run_every_minutes: float = Field(default=60.0, gt=0, description="How often each service runs its purges.")
    # At most 10,000: a chunk's keys are bound parameters (two per row for a two-column key), and
    # SQLite takes at most 32,766 in one statement.
    chunk_rows: int = Field(default=1000, ge=1, le=10_000,
                            description="Rows per purge transaction (each a short turn of SQLite's write lock).")

    @model_validator(mode="after")
    def _audit_outlives_what_it_audits(self) -> "RetentionSettings":
        longest = max(self.closed_referral_days, self.bulk_job_days)
        if self.audit_days < longest:
            raise ValueError(
                f"SONGTOR_RETENTION_AUDIT_DAYS ({self.audit_days}) must be at least the longest period of the data "
                f"the audit log records reads of ({longest} days): the log must outlive what it audits."
            )
        return self
