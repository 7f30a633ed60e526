"""The ops API's answers, pure: from a snapshot, per agency (lag, oldest waiting, rates, dead
letters, overdue, partitions), every other group's lag per topic and dead letters per topic;
today's intakes by province from their counts. Counts, offsets and names only: never a
person's data."""

from collections.abc import Mapping
from datetime import date
from zoneinfo import ZoneInfo

import geothai

from reporting.ops.domain import QueueSnapshot, RateWindow
from reporting.ops.groups import agency_group
from reporting.summary_labels import AGENCY
from shared.agencies import AGENCIES
from shared.settings import KafkaSettings
from shared.topics import dead_letter_topic


def agency_rows(*, snapshot: QueueSnapshot, kafka: KafkaSettings, rates: RateWindow) -> list[dict]:
    rows = []
    for agency in AGENCIES:
        group, topic = agency_group(kafka=kafka, agency=agency), kafka.topics.referral_assigned(agency)
        rows.append({
            "agency": agency, "name_th": AGENCY[agency][0], "name_en": AGENCY[agency][1],
            "topic": topic, "consumer_group": group,
            "lag": snapshot.lag_of(group=group),
            "oldest_waiting_seconds": snapshot.oldest_waiting_seconds.get(agency, 0.0),
            "rate_per_minute": rates.per_minute(group=group),
            "arrivals_per_minute": rates.per_minute(topic=topic),
            "dead_letters": snapshot.dead_letters.get(topic, 0),
            "overdue": snapshot.overdue.get(agency, 0),
            "partitions": [{"partition": p.partition, "lag": p.lag, "committed": p.committed, "end": p.end}
                           for p in snapshot.lags if p.group == group],
        })
    return rows


def other_group_rows(*, snapshot: QueueSnapshot, excluded: set[str]) -> list[dict]:
    """Every group but `excluded` (the agencies'): its lag summed over partitions, per topic."""
    lags: dict[tuple[str, str], int] = {}
    for p in snapshot.lags:
        if p.group not in excluded:
            lags[(p.group, p.topic)] = lags.get((p.group, p.topic), 0) + p.lag
    return [{"consumer_group": g, "topic": t, "lag": lag} for (g, t), lag in sorted(lags.items())]


def queues_view(
    *, snapshot: QueueSnapshot, kafka: KafkaSettings, rates: RateWindow, scan_seconds: float, scan_error: str | None
) -> dict:
    """The body of GET /v1/ops/queues."""
    agencies = agency_rows(snapshot=snapshot, kafka=kafka, rates=rates)
    return {
        "as_of": snapshot.taken_at.isoformat(),
        "scan_seconds": scan_seconds,
        "scan_error": scan_error,
        "agencies": agencies,
        "groups": other_group_rows(snapshot=snapshot, excluded={row["consumer_group"] for row in agencies}),
        "dead_letters": [{"topic": t, "dlq_topic": dead_letter_topic(t), "waiting": n}
                         for t, n in sorted(snapshot.dead_letters.items())],
    }


def today_view(*, day: date, zone: ZoneInfo, counts: Mapping[str, int]) -> dict:
    """The body of GET /v1/ops/today: provinces by intakes, most first, with their names."""
    provinces = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        found = geothai.province(code)
        provinces.append({"province": code, "name_th": found.name_th if found else None,
                          "name_en": found.name_en if found else None, "intakes": count})
    return {"date": day.isoformat(), "timezone": zone.key, "total": sum(counts.values()), "provinces": provinces}
