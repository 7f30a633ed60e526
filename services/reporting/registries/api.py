"""HTTP: which registry snapshots are loaded. Imports themselves run from the command line
(python -m reporting.registries.cli import ...): a million-row load is CPU-bound for seconds
and does not belong on the event loop that also consumes the referral topics."""

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.registries.lookup import registry_imports
from reporting.registries.models import RegistryKind


def registries_router(*, sessions: async_sessionmaker[AsyncSession]) -> APIRouter:
    router = APIRouter(prefix="/v1/registries", tags=["registries"])

    @router.get("/imports", summary="Registry snapshots, the latest as-of date first")
    async def imports(
        kind: RegistryKind | None = Query(default=None, description="tpmap or informal_labour"),
        limit: int = Query(default=100, ge=1, le=1000),
    ) -> list[dict]:
        async with sessions() as session:
            found = await registry_imports(session, kind=kind, limit=limit)
        return [
            {
                "import_id": item.id,
                "kind": item.kind,
                "effective_date": item.effective_date.isoformat(),
                "imported_at": item.imported_at.isoformat(),
                "file_name": item.file_name,
                "rows_accepted": item.rows_accepted,
                "rows_rejected": item.rows_rejected,
            }
            for item in found
        ]

    return router
