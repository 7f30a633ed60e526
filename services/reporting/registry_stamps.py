"""Each help records whether the person was on each registry when referred, and which snapshot
says so: stamped on the fact when its intake is applied (effects.intake_submitted), carried to a
transferred referral's continuation, read by SNB-2 and the TPMAP report.

"When referred" is the intake's received time: the snapshot whose effective date is on or before
that day (Asia/Bangkok) and that was already loaded at that moment (`known_at`). The second
condition makes the stamp reproducible: the rebuild from the log, run months later with the same
registry imports (copied, times kept), stamps the same answers the live consumer did, and a
snapshot imported afterwards, even one dated earlier, never rewrites what a filed form said.

One window remains: an intake received while a registry import is being written is stamped by the
live consumer before that import commits. `restamp_after_import` closes it: once an import is
committed, the facts received since its `imported_at` are stamped again.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.models import IntakeServiceFact, ReferralFact
from reporting.registries.lookup import registry_status_at
from reporting.registries.models import RegistryImport, RegistryKind
from shared.db import stored_utc

_COLUMNS = {
    RegistryKind.INFORMAL_LABOUR: ("informal_registry", "informal_registry_import_id"),
    RegistryKind.TPMAP: ("tpmap_registry", "tpmap_registry_import_id"),
}
STAMP_FIELDS = tuple(name for pair in _COLUMNS.values() for name in pair)


async def stamp_at(session: AsyncSession, *, person_ref: str, received_at: datetime) -> dict[str, Any]:
    """The stamp columns for a person referred at `received_at`: {column: value}."""
    at = stored_utc(received_at)
    stamp: dict[str, Any] = {}
    for kind, (flag, import_id) in _COLUMNS.items():
        status = (await registry_status_at(session, kind=kind, person_refs=[person_ref], at=at, known_at=at))[person_ref]
        stamp[flag], stamp[import_id] = status.on_registry, status.import_id
    return stamp


def apply_stamp(fact: ReferralFact | IntakeServiceFact, *, stamp: dict[str, Any]) -> None:
    for name, value in stamp.items():
        setattr(fact, name, value)


async def restamp_after_import(engine: AsyncEngine, *, import_id: int) -> int:
    """Stamp again every help received since the import's `imported_at` (normally none, or the
    few that arrived while it was loading); the number whose stamp changed."""
    changed = 0
    async with AsyncSession(engine, expire_on_commit=False) as session:
        imported = await session.get(RegistryImport, import_id)
        if imported is None:
            return 0
        since = stored_utc(imported.imported_at)
        for model in (ReferralFact, IntakeServiceFact):
            received = col(model.intake_received_at)
            found = await session.exec(select(model).where(received >= since, col(model.person_ref).is_not(None)))
            for fact in found.all():
                assert fact.intake_received_at is not None and fact.person_ref is not None
                stamp = await stamp_at(session, person_ref=fact.person_ref, received_at=fact.intake_received_at)
                if any(getattr(fact, name) != value for name, value in stamp.items()):
                    apply_stamp(fact, stamp=stamp)
                    session.add(fact)
                    changed += 1
        await session.commit()
    return changed


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A registry import as a form or report names it."""

    import_id: int
    kind: str
    effective_date: date
    imported_at: datetime


async def snapshots(session: AsyncSession, *, import_ids: set[int]) -> list[Snapshot]:
    """The imports stamps rest on, by effective date: what a form's note names."""
    if not import_ids:
        return []
    found = await session.exec(select(RegistryImport).where(col(RegistryImport.id).in_(sorted(import_ids))))
    return sorted((Snapshot(import_id=i.id or 0, kind=i.kind, effective_date=i.effective_date,
                            imported_at=stored_utc(i.imported_at)) for i in found.all()),
                  key=lambda s: (s.effective_date, s.import_id))
