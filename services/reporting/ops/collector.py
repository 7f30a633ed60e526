"""The background scan and what it exports: the latest QueueSnapshot for the ops API, and the
same numbers as Prometheus metrics in the service's registry."""

import asyncio
import logging
import time
from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.ops import store
from reporting.ops.broker_reader import BrokerReader
from reporting.ops.domain import QueueSnapshot, RateWindow
from reporting.ops.scan import take_snapshot
from shared.settings import KafkaSettings

logger = logging.getLogger("songtor.reporting.ops")
RATE_WINDOW_SECONDS = 300.0


class OpsCollector:
    def __init__(
        self,
        *,
        reader: BrokerReader,
        kafka: KafkaSettings,
        sessions: async_sessionmaker[AsyncSession],
        interval_seconds: float,
    ) -> None:
        self._reader, self._kafka, self._sessions = reader, kafka, sessions
        self.interval_seconds = interval_seconds
        self.latest: QueueSnapshot | None = None
        self.last_error: str | None = None
        # Rates are differences over the last few minutes of scans (in memory: see RateWindow).
        self.rates = RateWindow(seconds=RATE_WINDOW_SECONDS)

    async def scan(self) -> QueueSnapshot:
        async with self._sessions() as session:
            redriven = await store.redriven_by_topic(session)
            overdue = await store.overdue_by_agency(session)
        snapshot = await take_snapshot(reader=self._reader, kafka=self._kafka, redriven=redriven, overdue=overdue)
        self.rates.add(at=time.monotonic(), snapshot=snapshot)
        self.latest, self.last_error = snapshot, None
        return snapshot

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.scan()
                except Exception as exc:  # noqa: BLE001 - the scan must outlive a broker or database outage
                    # The last good snapshot stays served (with its age); only the error's class is kept.
                    self.last_error = type(exc).__name__
                    logger.warning("ops scan failed; will retry", exc_info=True)
                    await self._reader.reset()
                await asyncio.sleep(self.interval_seconds)
        finally:  # cancelled at shutdown
            await self._reader.close()


class OpsMetrics:
    """A custom collector: each scrape reads the latest snapshot whole, so a scrape never sees a
    half-updated set, and a group or partition that went away leaves no stale series behind."""

    def __init__(self, collector: OpsCollector) -> None:
        self._collector = collector

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snapshot = self._collector.latest
        if snapshot is not None:
            yield from snapshot_metrics(snapshot=snapshot)


def snapshot_metrics(*, snapshot: QueueSnapshot) -> Iterator[GaugeMetricFamily]:
    """The metric families of one snapshot (documented in deploy/prometheus/METRICS.md)."""
    lag = GaugeMetricFamily("kafka_consumergroup_lag", "Messages the consumer group has not committed past.",
                            labels=["consumergroup", "topic", "partition"])
    lag_sum = GaugeMetricFamily("kafka_consumergroup_lag_sum", "Lag of the consumer group over all partitions.",
                                labels=["consumergroup", "topic"])
    sums: dict[tuple[str, str], int] = {}
    for p in snapshot.lags:
        lag.add_metric([p.group, p.topic, str(p.partition)], p.lag)
        sums[(p.group, p.topic)] = sums.get((p.group, p.topic), 0) + p.lag
    for (group, topic), total in sorted(sums.items()):
        lag_sum.add_metric([group, topic], total)
    yield lag
    yield lag_sum
    yield _by("songtor_referral_oldest_waiting_seconds", "Age of the oldest referral the agency has not taken in.",
              "agency", snapshot.oldest_waiting_seconds)
    yield _by("songtor_dead_letters_depth", "Dead letters waiting on <topic>.dlq, not yet re-driven.",
              "topic", snapshot.dead_letters)
    yield _by("songtor_referrals_overdue", "Referrals announced overdue and not yet in a final status.",
              "agency", snapshot.overdue)
    yield _by("songtor_topic_end_offset", "Messages ever written to the topic (sum of end offsets; rate() it).",
              "topic", snapshot.end_offsets)
    last = GaugeMetricFamily("songtor_ops_last_scan_timestamp_seconds", "When the ops scan last succeeded.")
    last.add_metric([], snapshot.taken_at.timestamp())
    yield last


def _by(name: str, documentation: str, label: str, values: Mapping[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def register_metrics(*, registry: CollectorRegistry, collector: OpsCollector) -> None:
    registry.register(OpsMetrics(collector))
