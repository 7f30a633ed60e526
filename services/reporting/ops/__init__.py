"""Operations view of the whole platform, served by reporting: consumer lag and the oldest
waiting referral per agency, dead letters and their re-drive, overdue referrals, today's
intakes; as Prometheus metrics, a JSON API and a page (GET /ops)."""

from zoneinfo import ZoneInfo

from fastapi import APIRouter

from reporting.ops.api import ops_router
from reporting.ops.broker_reader import BrokerReader
from reporting.ops.collector import OpsCollector, register_metrics
from reporting.ops.dead_letters import DeadLetters
from reporting.ops.handlers import register_overdue_handler
from reporting.ops.models import OPS_TABLES
from shared.service import ServiceRuntime
from shared.settings import KafkaSettings

__all__ = ["OPS_TABLES", "install_ops"]


def install_ops(*, runtime: ServiceRuntime, kafka: KafkaSettings, zone: ZoneInfo, scan_seconds: float) -> APIRouter:
    """Wire the ops view into the reporting runtime (its tables: OPS_TABLES); returns its router."""
    register_overdue_handler(broker=runtime.broker, kafka=kafka, sessions=runtime.sessions)
    reader = BrokerReader(bootstrap_servers=kafka.bootstrap_servers)
    collector = OpsCollector(reader=reader, kafka=kafka, sessions=runtime.sessions, interval_seconds=scan_seconds)
    register_metrics(registry=runtime.registry, collector=collector)
    runtime.background.append(collector.run)
    dead_letters = DeadLetters(reader=reader, broker=runtime.broker, kafka=kafka, sessions=runtime.sessions)
    return ops_router(collector=collector, dead_letters=dead_letters, kafka=kafka, sessions=runtime.sessions, zone=zone)
