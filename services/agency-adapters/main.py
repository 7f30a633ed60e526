"""Composition root of the agency adapters."""

from fastapi import FastAPI

from agency_adapters.api import workbench_router
from agency_adapters.handlers import register_agency_consumers
from agency_adapters.migrations import SCHEMA
from agency_adapters.overdue import OverdueWatch, overdue_lease
from agency_adapters.retention import agency_purges
from agency_adapters.settings import AgencySettings
from agency_adapters.webhooks.api import agency_systems_router
from agency_adapters.webhooks.config import pushed_to
from agency_adapters.webhooks.dispatcher import WebhookDispatcher
from agency_adapters.webhooks.reads import agency_system_reads_router
from agency_adapters.workflow import Workbench
from shared.catalog.outcomes import load_outcomes
from shared.db import OutboxRelay
from shared.privacy import master_keys_from
from shared.retention.job import retention_job
from shared.service import create_app, create_runtime, serve

SERVICE = "agency-adapters"


def build_app(settings: AgencySettings | None = None) -> FastAPI:
    settings = settings or AgencySettings()
    runtime = create_runtime(service=SERVICE, settings=settings, schema=SCHEMA)
    relay = OutboxRelay(engine=runtime.engine, broker=runtime.broker, registry=runtime.registry)
    runtime.background.append(relay.run)
    watch = OverdueWatch(
        sessions=runtime.sessions, relay=relay, topics=settings.kafka.topics,
        policies=dict(settings.deadlines), interval_seconds=settings.deadline_scan_seconds,
        agencies=settings.agencies,
    )
    # One copy at a time scans (two would collide on the same notices); processes that split the
    # agencies between them each hold the lease of their own set.
    runtime.background.append(runtime.leases.runs_alone(name=overdue_lease(settings.agencies), job=watch.run))
    master_keys = master_keys_from(settings.sealing)
    register_agency_consumers(
        broker=runtime.broker, kafka=settings.kafka, sessions=runtime.sessions, relay=relay, agencies=settings.agencies,
        webhook_agencies=frozenset(pushed_to(settings.webhooks)),
    )
    # Each process pushes only the referrals of the agencies it consumes; any process answers callbacks.
    # Not leased: every copy may push, since each delivery is claimed by a compare-and-set on its own
    # lease_until (shared/delivery/store.py), so no two copies send one at the same time.
    dispatcher = WebhookDispatcher(
        sessions=runtime.sessions, registry=runtime.registry, public_url=settings.callback_base_url,
        targets={agency: target for agency, target in pushed_to(settings.webhooks).items() if agency in settings.agencies},
        interval_seconds=settings.webhook_scan_seconds, master_keys=master_keys,
    )
    runtime.background.append(dispatcher.run)
    runtime.background.append(retention_job(runtime, purges=agency_purges(settings)))  # docs/retention.md
    bench = Workbench(
        sessions=runtime.sessions, relay=relay, topics=settings.kafka.topics,
        outcomes=load_outcomes(settings.outcomes_path), master_keys=master_keys,
    )
    return create_app(
        runtime,
        title="Songtor agency adapters",
        description="Each agency's referrals, consumed independently, and the workbench to act on them.",
        routers=[
            workbench_router(bench=bench),
            agency_systems_router(bench=bench, targets=dict(settings.webhooks), dispatcher=dispatcher,
                                  public_url=settings.callback_base_url),
            agency_system_reads_router(bench=bench, targets=dict(settings.webhooks), public_url=settings.callback_base_url),
        ],
    )


def run() -> None:
    settings = AgencySettings()
    serve(lambda: build_app(settings), settings, service=SERVICE)
