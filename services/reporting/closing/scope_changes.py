"""How the month close knows that a closed form's facts changed: a count per (province, org unit,
month) of the transactions that changed its facts (models.ScopeChanges), bumped by those very
transactions, and the count each form's newest version was built from (models.CloseMark).

Why counts and not the facts' timestamps: a consumer stamps a fact when it writes it and commits
later; meanwhile the close may read the facts (without it), build a version and file it with a
later time. Compared by time, the fact then looks older than the version and is never amended.
Several consumers (and reporting processes) commit in any order, so no time taken by either side
orders commits. A count bumped in the fact's own transaction does: the bump commits with the
fact, and the close reads the count *before* the facts it builds from, so a change whose bump it
did not see is either in what it read (compared once more, in vain) or committed afterwards
(compared, and amended).

Noted as the facts are loaded and saved (repository), like the rollups, and written once at the
end of the effect, after the rollups (`write_pending`, effects.families), sorted by key: every
consumer bumps the same few rows, and taking their locks last and in one order lets two
consumers wait for each other, never deadlock. A fact that moves out of a scope counts in both.
"""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.bulk import insert_for
from reporting.closing.models import CloseMark, ScopeChanges

Key = tuple[str, str, str]  # form, scope, month (as render_step.Key)
ScopeKey = tuple[str, str, str]  # province_code, org_unit, intake_month
_LOADED, _PENDING = "scope_changes.loaded", "scope_changes.pending"
_COUNTS, _MARKS = ScopeChanges.__table__, CloseMark.__table__
_SCOPE_COLUMN = {"sp12": _COUNTS.c.org_unit, "snb2": _COUNTS.c.province_code}


def scope_of(fact: Any) -> ScopeKey | None:  # noqa: ANN401 - a fact row, model or service fact
    """Where a fact counts on the forms; None while its intake is unknown (the forms list only
    the facts that know it). A service delivered at intake always knows it."""
    if not getattr(fact, "has_intake", True) or not (fact.province_code and fact.org_unit and fact.intake_month):
        return None
    return (fact.province_code, fact.org_unit, fact.intake_month)


def note_loaded(session: AsyncSession, *, fact: Any) -> None:  # noqa: ANN401
    session.info.setdefault(_LOADED, {})[fact.referral_id] = scope_of(fact)


def note_saved(session: AsyncSession, *, fact: Any) -> None:  # noqa: ANN401
    """A referral fact written: the scope it was loaded in and the one it is saved in changed."""
    loaded: dict = session.info.setdefault(_LOADED, {})
    pending: set = session.info.setdefault(_PENDING, set())
    pending.update(scope for scope in (loaded.get(fact.referral_id), scope_of(fact)) if scope is not None)


def note_changed(session: AsyncSession, *, facts: Iterable[Any]) -> None:
    """Facts written whose scope stays as it was (services recorded, registry stamps changed)."""
    pending: set = session.info.setdefault(_PENDING, set())
    pending.update(scope for fact in facts if (scope := scope_of(fact)) is not None)


async def write_pending(session: AsyncSession) -> None:
    """One more change for each scope noted in this transaction, in key order (one upsert)."""
    pending = sorted(session.info.pop(_PENDING, set()))
    if not pending:
        return
    connection = await session.connection()
    statement = insert_for(connection)(_COUNTS)
    await connection.execute(statement.on_conflict_do_update(
        index_elements=["province_code", "org_unit", "intake_month"], set_={"changes": _COUNTS.c.changes + 1}),
        [{"province_code": province, "org_unit": org_unit, "intake_month": month, "changes": 1}
         for province, org_unit, month in pending])


async def changes_by_form(session: AsyncSession) -> dict[Key, int]:
    """The count of every form's scope and month: SP-12 by org unit, SNB-2 by province."""
    connection = await session.connection()
    found: dict[Key, int] = {}
    for form, column in _SCOPE_COLUMN.items():
        rows = await connection.execute(select(column, _COUNTS.c.intake_month, func.sum(_COUNTS.c.changes))
                                        .group_by(column, _COUNTS.c.intake_month))
        found.update(((form, scope, month), int(changes)) for scope, month, changes in rows)
    return found


async def changes_of(session: AsyncSession, *, key: Key) -> int:
    """One form's count: read before the facts a version is built from (see the module's doc)."""
    form, scope, month = key
    connection = await session.connection()
    query = select(func.coalesce(func.sum(_COUNTS.c.changes), 0)).where(
        _SCOPE_COLUMN[form] == scope, _COUNTS.c.intake_month == month)
    return int((await connection.execute(query)).scalar_one())


async def marks(session: AsyncSession) -> dict[Key, tuple[int, int]]:
    """(version, count) of each form's newest version, as marked."""
    connection = await session.connection()
    rows = await connection.execute(select(_MARKS.c.form, _MARKS.c.scope, _MARKS.c.month, _MARKS.c.version,
                                           _MARKS.c.changes))
    return {(form, scope, month): (version, changes) for form, scope, month, version, changes in rows}


async def mark(session: AsyncSession, *, key: Key, version: int, changes: int) -> None:
    """`version` of the form was built from (or found equal to) the facts as of `changes`. A
    mark of a newer version is kept: two closes may race, and the newest version is the one
    the next change is compared with."""
    form, scope, month = key
    connection = await session.connection()
    statement = insert_for(connection)(_MARKS).values(form=form, scope=scope, month=month, version=version,
                                                       changes=changes)
    await connection.execute(statement.on_conflict_do_update(
        index_elements=["form", "scope", "month"],
        set_={"version": statement.excluded.version, "changes": statement.excluded.changes},
        where=_MARKS.c.version <= statement.excluded.version))
