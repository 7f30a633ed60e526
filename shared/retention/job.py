"""The retention job of a service: its own rules first, then the common ones, run every
SONGTOR_RETENTION_RUN_EVERY_MINUTES as one of the service's background loops."""

import logging
from collections.abc import Sequence

from shared.background import every
from shared.db.retention import Purge, Purger
from shared.retention.rules import common_rules
from shared.retention.settings import RetentionSettings
from shared.service import BackgroundTask, ServiceRuntime
from shared.settings import KafkaSettings

logger = logging.getLogger("songtor.retention")


def check_inbox_outlives_dead_letters(retention: RetentionSettings, kafka: KafkaSettings) -> None:
    """A dead letter re-driven comes back to every consumer group with its old event id, and the
    groups that applied it long ago skip it only while their inbox still holds that id."""
    if retention.inbox_days <= kafka.dead_letter_retention_days:
        raise ValueError(
            f"SONGTOR_RETENTION_INBOX_DAYS ({retention.inbox_days}) must be longer than "
            f"KAFKA_DEAD_LETTER_RETENTION_DAYS ({kafka.dead_letter_retention_days}): a dead letter can be re-driven "
            "until the broker deletes it, and every consumer that already applied it must still recognise its event id."
        )


def build_purger(runtime: ServiceRuntime, *, purges: Sequence[Purge] = ()) -> Purger:
    settings = runtime.settings
    check_inbox_outlives_dead_letters(settings.retention, settings.kafka)
    if runtime.engine is None:
        raise RuntimeError(f"{runtime.service} has no database: nothing to purge")
    return Purger(engine=runtime.engine, purges=[*purges, *common_rules(settings.retention)],
                  registry=runtime.registry, chunk_rows=settings.retention.chunk_rows, service=runtime.service)


def retention_job(runtime: ServiceRuntime, *, purges: Sequence[Purge] = ()) -> BackgroundTask:
    """The background loop for runtime.background; refuses (at composition, so the service does
    not start) a configuration whose inbox would forget event ids a re-drive can still bring back.
    One copy of the service purges at a time (its lease "retention"): copies sharing the database
    would otherwise delete the same chunks side by side, each waiting on the other's locks."""
    purger = build_purger(runtime, purges=purges)
    seconds = runtime.settings.retention.run_every_minutes * 60

    async def run() -> None:
        await every(seconds, purger.run_once, what="retention purge", logger=logger)

    return runtime.leases.runs_alone(name="retention", job=run)
