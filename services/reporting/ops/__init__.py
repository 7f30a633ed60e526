"""Operations view of the whole platform, served by reporting: consumer lag and the oldest
waiting referral per agency, dead letters and their re-drive, overdue referrals, today's
intakes; as Prometheus metrics, a JSON API and a page (GET /ops).

Its questions to the broker and its re-drives go as the ops principal (songtor-ops), never as
reporting's: Describe on every topic and group, Read on the dead-letter topics only, Write on the
event topics for a re-drive (shared/kafka/topology.py)."""

from zoneinfo import ZoneInfo

from fastapi import APIRouter

from reporting.ops.api import ops_router
from reporting.ops.broker_reader import BrokerReader
from reporting.ops.collector import OpsCollector, register_metrics
from reporting.ops.dead_letters import DeadLetters
from reporting.ops.handlers import register_overdue_handler
from reporting.ops.models import OPS_TABLES
from reporting.ops.redrive_producer import RedriveProducer
from shared.kafka.connection import KafkaLoginError
from shared.kafka.topic_check import check_topics
from shared.kafka.topology import SERVICE_PRINCIPALS, usage_of
from shared.service import ServiceRuntime
from shared.settings import KafkaSettings

__all__ = ["OPS_TABLES", "install_ops"]


def install_ops(
    *, runtime: ServiceRuntime, kafka: KafkaSettings, ops_kafka: KafkaSettings, zone: ZoneInfo, scan_seconds: float,
) -> APIRouter:
    """Wire the ops view into the reporting runtime (its tables: OPS_TABLES); returns its router.
    `kafka`: reporting's own settings (its broker consumes referral.overdue for the view);
    `ops_kafka`: the ops principal's (ReportingSettings.ops_kafka())."""
    register_overdue_handler(broker=runtime.broker, kafka=kafka, sessions=runtime.sessions)
    reader = BrokerReader(kafka=ops_kafka)
    collector = OpsCollector(reader=reader, kafka=ops_kafka, sessions=runtime.sessions, interval_seconds=scan_seconds)
    register_metrics(registry=runtime.registry, collector=collector)
    producer = RedriveProducer(kafka=ops_kafka)
    runtime.on_start.append(lambda: _check_login(ops_kafka))
    # Not leased: every copy scans, since its /ops page and /metrics answer from its own latest scan
    # (read-only questions to the broker and the database); the producer only waits for re-drives
    # asked of this copy, and closes at its stop.
    runtime.background.extend([collector.run, producer.run])
    dead_letters = DeadLetters(reader=reader, producer=producer, kafka=ops_kafka, sessions=runtime.sessions)
    return ops_router(collector=collector, dead_letters=dead_letters, kafka=ops_kafka, sessions=runtime.sessions,
                      zone=zone)


async def _check_login(ops_kafka: KafkaSettings) -> None:
    """At start, not at the first scan: the service refuses to start, naming the variable to set,
    rather than serve an ops page that fails quietly. Logging in to check the dead-letter topics
    the ops principal reads proves its password and ACLs, too."""
    if ops_kafka.security_protocol.startswith("SASL") and not ops_kafka.secret():
        raise KafkaLoginError(f"no password for the ops view's Kafka principal {ops_kafka.username}: set "
                              "REPORTING_OPS_KAFKA_PASSWORD_FILE (or REPORTING_OPS_KAFKA_PASSWORD).")
    ops = usage_of(ops_kafka, SERVICE_PRINCIPALS["ops"])
    await check_topics(kafka=ops_kafka, names=list(ops.checks), service="reporting-ops")
