"""Was a person on a registry at a point in time? Keyword-only reads, session passed in.

The answer comes from the latest import of that registry whose effective (as-of) date is on
or before the day asked about; a later import never changes what an earlier day answers. With
no such import the answer is unknown (None), never "not on the registry".
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.registries.models import RegistryImport, RegistryKind, RegistryMember

BANGKOK = ZoneInfo("Asia/Bangkok")
# Well under SQLite's bound-parameter limit, and a plan PostgreSQL handles well.
_LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class RegistryStatus:
    on_registry: bool | None  # None: no import of this registry was in effect on that day
    import_id: int | None
    effective_date: date | None  # the registry's as-of date the answer rests on
    imported_at: datetime | None  # when that snapshot was loaded (aware, UTC)


def day_of(at: date | datetime, *, zone: ZoneInfo = BANGKOK) -> date:
    """The calendar day `at` falls on where the registry is kept (Thailand)."""
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise ValueError("`at` must be a date or a time-zone-aware datetime")
        return at.astimezone(zone).date()
    return at


async def registry_import_at(
    session: AsyncSession, *, kind: RegistryKind | str, at: date | datetime, known_at: datetime | None = None
) -> RegistryImport | None:
    """The snapshot in effect on `at`'s day: the latest effective date on or before it, and of
    two imports with that date the later one (a corrected re-import). `known_at` leaves out
    imports loaded after it, so an answer recorded then can be reproduced exactly later."""
    query = select(RegistryImport).where(
        RegistryImport.kind == RegistryKind(kind).value, col(RegistryImport.effective_date) <= day_of(at)
    )
    if known_at is not None:
        if known_at.tzinfo is None:
            raise ValueError("`known_at` must be time-zone-aware")
        query = query.where(col(RegistryImport.imported_at) <= known_at)
    query = query.order_by(col(RegistryImport.effective_date).desc(), col(RegistryImport.imported_at).desc(),
                           col(RegistryImport.id).desc()).limit(1)
    return (await session.exec(query)).first()


async def registry_status_at(
    session: AsyncSession,
    *,
    kind: RegistryKind | str,
    person_refs: Iterable[str],
    at: date | datetime,
    known_at: datetime | None = None,
) -> dict[str, RegistryStatus]:
    """For each person_ref: on the `kind` registry on `at`'s day (True/False), or unknown (None)."""
    refs = list(dict.fromkeys(person_refs))
    snapshot = await registry_import_at(session, kind=kind, at=at, known_at=known_at)
    if snapshot is None:
        unknown = RegistryStatus(on_registry=None, import_id=None, effective_date=None, imported_at=None)
        return dict.fromkeys(refs, unknown)
    listed: set[str] = set()
    for start in range(0, len(refs), _LOOKUP_CHUNK):
        chunk = refs[start:start + _LOOKUP_CHUNK]
        found = await session.exec(
            select(RegistryMember.person_ref).distinct()
            .where(RegistryMember.import_id == snapshot.id, col(RegistryMember.person_ref).in_(chunk))
        )
        listed.update(found.all())
    imported_at = snapshot.imported_at

    def status(on: bool) -> RegistryStatus:
        return RegistryStatus(on_registry=on, import_id=snapshot.id, effective_date=snapshot.effective_date,
                              imported_at=imported_at)

    yes, no = status(True), status(False)
    return {ref: yes if ref in listed else no for ref in refs}


async def registry_imports(
    session: AsyncSession, *, kind: RegistryKind | str | None = None, limit: int = 100
) -> list[RegistryImport]:
    """Imports, the most recent effective date first."""
    query = select(RegistryImport)
    if kind is not None:
        query = query.where(RegistryImport.kind == RegistryKind(kind).value)
    query = query.order_by(col(RegistryImport.effective_date).desc(), col(RegistryImport.imported_at).desc(),
                           col(RegistryImport.id).desc()).limit(limit)
    return list((await session.exec(query)).all())
