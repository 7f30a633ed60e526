"""Composition root of the intake service: the one place its parts are wired together."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from intake.api import intake_router
from intake.bulk.api import UPLOAD_PATH, bulk_router
from intake.bulk.models import TABLES as BULK_TABLES
from intake.bulk.worker import BulkWorker
from intake.clerk_errors import validation_exception_handler
from intake.handlers import register_status_handlers
from intake.models import TABLES
from intake.settings import IntakeSettings
from intake.submission import IntakeDesk
from shared.catalog import load_catalog
from shared.db import OutboxRelay
from shared.service import create_app, create_runtime, serve

SERVICE = "intake"


def build_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    catalog = load_catalog(settings.catalog.catalog_path)
    runtime = create_runtime(service=SERVICE, settings=settings, tables=[*TABLES, *BULK_TABLES])
    relay = OutboxRelay(engine=runtime.engine, broker=runtime.broker)
    runtime.background.append(relay.run)
    register_status_handlers(broker=runtime.broker, kafka=settings.kafka, sessions=runtime.sessions)
    desk = IntakeDesk(
        catalog=catalog,
        sessions=runtime.sessions,
        relay=relay,
        topics=settings.kafka.topics,
        person_ref_key=settings.privacy.person_ref_key,
    )
    # Sheets go through the same desk as single intakes, row by row, in a background job.
    bulk_worker = BulkWorker(desk=desk, settings=settings.bulk)
    runtime.background.append(bulk_worker.run)
    app = create_app(
        runtime,
        title="Songtor intake",
        description="Takes in a person's needs from front-line units and refers them onward.",
        routers=[
            intake_router(desk=desk),
            bulk_router(sessions=runtime.sessions, settings=settings.bulk, worker=bulk_worker),
        ],
    )
    app.add_exception_handler(RequestValidationError, validation_exception_handler)

    @app.middleware("http")
    async def limit_body_size(request: Request, call_next):  # noqa: ANN001, ANN202
        if request.url.path == UPLOAD_PATH:
            return await call_next(request)  # a sheet: its own limit, counted as it streams in
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_body_bytes:
            return JSONResponse(
                status_code=413,
                content={"detail": f"The request is larger than {settings.max_body_bytes} bytes."},
            )
        return await call_next(request)

    return app


def run() -> None:
    settings = IntakeSettings()
    serve(lambda: build_app(settings), settings, service=SERVICE)
