"""Composition root of the intake service: the one place its parts are wired together."""

from datetime import timedelta

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from intake.api import intake_router
from intake.bulk.api import bulk_router
from intake.bulk.worker import BulkWorker
from intake.clerk_errors import validation_exception_handler
from intake.consent_withdrawal_api import consent_withdrawal_router
from intake.erasure import register_erasure_confirmations
from intake.erasure_api import erasure_router
from intake.group_commit import GroupCommitter
from intake.handlers import register_status_handlers
from intake.migrations import SCHEMA
from intake.retention import intake_purges
from intake.settings import IntakeSettings
from intake.submission import IntakeDesk
from shared.catalog import load_catalog
from shared.db import OutboxRelay
from shared.privacy import master_keys_from
from shared.retention.job import retention_job
from shared.service import create_app, create_runtime, serve

SERVICE = "intake"


def build_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    catalog = load_catalog(settings.catalog.catalog_path)
    runtime = create_runtime(service=SERVICE, settings=settings, schema=SCHEMA)
    relay = OutboxRelay(engine=runtime.engine, broker=runtime.broker, registry=runtime.registry)
    runtime.background.append(relay.run)
    register_status_handlers(broker=runtime.broker, kafka=settings.kafka, sessions=runtime.sessions)
    register_erasure_confirmations(broker=runtime.broker, kafka=settings.kafka, sessions=runtime.sessions)
    desk = IntakeDesk(
        catalog=catalog,
        sessions=runtime.sessions,
        relay=relay,
        topics=settings.kafka.topics,
        person_ref_key=settings.privacy.person_ref_key,
        master_keys=master_keys_from(settings.sealing),
    )
    # Sheets go through the same desk as single intakes, row by row, in a background job. Not leased:
    # each job is claimed by a compare-and-set and kept by its heartbeat (intake/bulk/repository.py),
    # so copies run different sheets side by side and a dead copy's sheet is resumed by another.
    bulk_worker = BulkWorker(desk=desk, settings=settings.bulk)
    runtime.background.append(bulk_worker.run)
    runtime.background.append(retention_job(runtime, purges=intake_purges(settings)))  # docs/retention.md
    app = create_app(
        runtime,
        title="Songtor intake",
        description="Takes in a person's needs from front-line units and refers them onward.",
        routers=[
            intake_router(desk=desk, committer=GroupCommitter(desk=desk, max_group=settings.group_commit_max)),
            bulk_router(sessions=runtime.sessions, settings=settings.bulk, worker=bulk_worker),
            erasure_router(desk=desk, compaction=timedelta(seconds=settings.kafka.person_keys_compaction_seconds)),
            consent_withdrawal_router(desk=desk),
        ],
    )
    # The body limit (INTAKE_MAX_BODY_BYTES, counted as the body streams in) is every service's,
    # set in create_app; the sheet upload raises it for itself.
    app.add_exception_handler(RequestValidationError, validation_exception_handler)
    return app


def run() -> None:
    settings = IntakeSettings()
    serve(lambda: build_app(settings), settings, service=SERVICE)
