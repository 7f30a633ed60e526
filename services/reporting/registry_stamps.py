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

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.closing import scope_changes
from reporting.models import AnyFact, IntakeServiceFact, ReferralFact
from reporting.registries.lookup import day_of
from reporting.registries.models import RegistryImport, RegistryKind, RegistryMember
from shared.db import stored_utc

_COLUMNS = {
    RegistryKind.INFORMAL_LABOUR: ("informal_registry", "informal_registry_import_id"),
    RegistryKind.TPMAP: ("tpmap_registry", "tpmap_registry_import_id"),
}
STAMP_FIELDS = tuple(name for pair in _COLUMNS.values() for name in pair)
# Persons per membership query: well under SQLite's bound-parameter limit.
_LOOKUP_CHUNK = 5_000
Wanted = tuple[str, datetime]  # (person_ref, received_at)


async def stamp_at(session: AsyncSession, *, person_ref: str, received_at: datetime) -> dict[str, Any]:
    """The stamp columns for a person referred at `received_at`: {column: value}."""
    return (await stamps_at(session, wanted=[(person_ref, received_at)]))[(person_ref, received_at)]


async def stamps_at(session: AsyncSession, *, wanted: Iterable[Wanted]) -> dict[Wanted, dict[str, Any]]:
    """The stamp of each (person_ref, received_at), keyed by that pair, in two queries however
    many are asked: the imports that can be in effect for any of them, then which of the persons
    those imports list. Which import answers a given moment is chosen here by the rule of
    registries.lookup.registry_import_at (latest effective date on or before the day, then the
    latest loaded, then the highest id; loaded no later than the moment)."""
    asked = list(dict.fromkeys(wanted))
    if not asked:
        return {}
    latest = max(stored_utc(at) for _, at in asked).astimezone(UTC)
    found = await session.exec(select(RegistryImport).where(
        col(RegistryImport.kind).in_([kind.value for kind in _COLUMNS]),
        col(RegistryImport.effective_date) <= day_of(latest), col(RegistryImport.imported_at) <= latest))
    imports: dict[str, list[RegistryImport]] = {}
    for row in found.all():
        imports.setdefault(row.kind, []).append(row)
    chosen = {(kind, at): _in_effect(imports.get(kind.value, []), at=stored_utc(at))
              for kind in _COLUMNS for at in {at for _, at in asked}}
    listed = await _listed(session, import_ids={i.id for i in chosen.values() if i is not None},
                           person_refs={ref for ref, _ in asked})
    stamps: dict[Wanted, dict[str, Any]] = {}
    for ref, at in asked:
        stamp: dict[str, Any] = {}
        for kind, (flag, import_id) in _COLUMNS.items():
            snapshot = chosen[(kind, at)]
            stamp[flag] = None if snapshot is None else (snapshot.id, ref) in listed
            stamp[import_id] = None if snapshot is None else snapshot.id
        stamps[(ref, at)] = stamp
    return stamps


def _in_effect(imports: list[RegistryImport], *, at: datetime) -> RegistryImport | None:
    day = day_of(at)
    candidates = [i for i in imports if i.effective_date <= day and stored_utc(i.imported_at) <= at]
    return max(candidates, key=lambda i: (i.effective_date, stored_utc(i.imported_at), i.id or 0), default=None)


async def _listed(session: AsyncSession, *, import_ids: set[int | None], person_refs: set[str]) -> set[tuple[int, str]]:
    """(import_id, person_ref) of the persons the imports list."""
    if not import_ids:
        return set()
    listed: set[tuple[int, str]] = set()
    refs = sorted(person_refs)
    for start in range(0, len(refs), _LOOKUP_CHUNK):
        found = await session.exec(
            select(RegistryMember.import_id, RegistryMember.person_ref).distinct()
            .where(col(RegistryMember.import_id).in_(sorted(i for i in import_ids if i is not None)),
                   col(RegistryMember.person_ref).in_(refs[start:start + _LOOKUP_CHUNK])))
        listed.update((import_id, ref) for import_id, ref in found.all())
    return listed


def apply_stamp(fact: AnyFact | IntakeServiceFact, *, stamp: dict[str, Any]) -> None:
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
            facts = [(fact, (fact.person_ref or "", stored_utc(fact.intake_received_at))) for fact in found.all()
                     if fact.intake_received_at is not None]
            stamps = await stamps_at(session, wanted=[key for _, key in facts])
            for fact, key in facts:
                stamp = stamps[key]
                if any(getattr(fact, name) != value for name, value in stamp.items()):
                    apply_stamp(fact, stamp=stamp)
                    session.add(fact)
                    # SNB-2 ticks the registry: a closed month whose stamps changed is amended.
                    scope_changes.note_changed(session, facts=[fact])
                    changed += 1
        await scope_changes.write_pending(session)
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
