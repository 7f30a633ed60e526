"""Rollups of the facts at the grain of the monthly summary (models.MonthlyReferralCount and
MonthlyServiceCount), kept in step with the facts by the transaction that changes them.

How a change is counted: when the repository loads a fact it notes the rollup key the fact is
counted under (`note_loaded`); when it saves the fact, the key is compared with the new one
(`note_saved`), and a move becomes -1 on the old key and +1 on the new. The deltas are written
at the end of each batch's effect (`write_pending`, called by effects.families), sorted by key:
the rollup rows are shared by every consumer, and taking their locks last and always in the same
order means two consumers can wait for each other's rows but never deadlock.

A database whose facts were made before the rollups existed is filled once from the facts when
the service starts (`backfill`); `drift` compares the rollups with the facts, for tests and for
an operator who doubts them.
"""

from collections import Counter
from datetime import UTC, datetime
from collections.abc import Iterable

from sqlalchemy import Table, delete, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from reporting.bulk import insert_for
from reporting.models import (AnyFact, IntakeServiceFact, MonthlyReferralCount, MonthlyServiceCount, ReferralFact,
                              RollupState)

UNKNOWN = ""  # a dimension not known yet (no assignment, no worker type): primary keys cannot be NULL
_LOADED, _REFERRALS, _SERVICES = "rollups.loaded", "rollups.referrals", "rollups.services"
_REFERRAL_KEY = ("province_code", "intake_month", "agency", "category", "status", "worker_type")
_SERVICE_KEY = ("province_code", "intake_month", "need_code")
ReferralKey = tuple[str, str, str, str, str, str]


def counted_key(fact: AnyFact) -> ReferralKey | None:
    """The rollup row a fact is counted in; None while its intake is unknown (the monthly
    summary counts a referral only once it knows the province and month of its intake)."""
    if not fact.has_intake or fact.province_code is None or fact.intake_month is None:
        return None
    return (fact.province_code, fact.intake_month, fact.agency or UNKNOWN, fact.category or UNKNOWN,
            fact.status, fact.worker_type or UNKNOWN)


def note_loaded(session: AsyncSession, *, fact: AnyFact) -> None:
    session.info.setdefault(_LOADED, {})[fact.referral_id] = counted_key(fact)


def note_saved(session: AsyncSession, *, fact: AnyFact) -> None:
    loaded: dict = session.info.setdefault(_LOADED, {})
    before, after = loaded.get(fact.referral_id), counted_key(fact)
    if before == after:
        return
    pending: Counter = session.info.setdefault(_REFERRALS, Counter())
    if before is not None:
        pending[before] -= 1
    if after is not None:
        pending[after] += 1
    loaded[fact.referral_id] = after


def note_services(session: AsyncSession, *, facts: Iterable[IntakeServiceFact]) -> None:
    pending: Counter = session.info.setdefault(_SERVICES, Counter())
    for fact in facts:
        pending[(fact.province_code, fact.intake_month, fact.need_code)] += 1


async def write_pending(session: AsyncSession) -> None:
    """Add the deltas noted in this transaction to the rollup rows, in key order."""
    referrals: Counter = session.info.pop(_REFERRALS, Counter())
    services: Counter = session.info.pop(_SERVICES, Counter())
    await _add(session, table=MonthlyReferralCount.__table__, names=_REFERRAL_KEY, measure="referrals", deltas=referrals)
    await _add(session, table=MonthlyServiceCount.__table__, names=_SERVICE_KEY, measure="services", deltas=services)


async def _add(session: AsyncSession, *, table: Table, names: tuple[str, ...], measure: str, deltas: Counter) -> None:
    """One multi-row upsert for the batch's deltas; its rows in key order, which is the order
    PostgreSQL takes their locks in."""
    rows = [{**dict(zip(names, key, strict=True)), measure: deltas[key]} for key in sorted(k for k, n in deltas.items() if n)]
    if not rows:
        return
    connection = await session.connection()
    insert = insert_for(connection)
    statement = insert(table)
    await connection.execute(statement.on_conflict_do_update(
        index_elements=list(names), set_={measure: table.c[measure] + statement.excluded[measure]}), rows)


async def backfill(sessions: async_sessionmaker[AsyncSession]) -> int | None:
    """Fill the rollups from the facts once per database; the number of facts counted, or None
    when they were already filled. Several processes starting together queue on the state
    row's key: the first fills, the others find it filled."""
    async with sessions() as session:
        connection = await session.connection()
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        claimed = await connection.execute(
            dialect.insert(RollupState.__table__).values(id=1, filled_at=datetime.now(UTC)).on_conflict_do_nothing(index_elements=["id"])
            .returning(RollupState.__table__.c.id)
        )
        if claimed.first() is None:
            await session.rollback()
            return None
        await connection.execute(delete(MonthlyReferralCount.__table__))
        await connection.execute(delete(MonthlyServiceCount.__table__))
        referrals, services = _from_facts()
        await connection.execute(insert(MonthlyReferralCount.__table__).from_select([*_REFERRAL_KEY, "referrals"], referrals))
        await connection.execute(insert(MonthlyServiceCount.__table__).from_select([*_SERVICE_KEY, "services"], services))
        counted = (await connection.execute(select(func.coalesce(func.sum(MonthlyReferralCount.referrals), 0)))).scalar_one()
        state = await session.get(RollupState, 1)
        assert state is not None, "inserted above"
        state.facts_at_fill = int(counted)
        session.add(state)
        await session.commit()
        return int(counted)


def _from_facts():  # noqa: ANN202 - two SELECTs
    """The rollups as GROUP BYs of the facts: what the backfill writes and `drift` checks against."""
    def known(column):  # noqa: ANN001, ANN202
        return func.coalesce(column, literal(UNKNOWN)).label(column.key)

    referral_key = [known(col(getattr(ReferralFact, name))) for name in _REFERRAL_KEY]
    referrals = (
        select(*referral_key, func.count().label("referrals"))
        .where(col(ReferralFact.has_intake).is_(True), col(ReferralFact.province_code).is_not(None),
               col(ReferralFact.intake_month).is_not(None))
        .group_by(*referral_key)
    )
    service_key = [col(getattr(IntakeServiceFact, name)) for name in _SERVICE_KEY]
    services = select(*service_key, func.count().label("services")).group_by(*service_key)
    return referrals, services


async def drift(session: AsyncSession) -> dict[str, dict[tuple, tuple[int, int]]]:
    """Keys where the rollups and the facts disagree, as {table: {key: (rollup, facts)}}; empty
    dicts when they agree."""
    referrals, services = _from_facts()
    result = {}
    for name, table, from_facts, width in (
        ("monthly_referral_counts", MonthlyReferralCount.__table__, referrals, len(_REFERRAL_KEY)),
        ("monthly_service_counts", MonthlyServiceCount.__table__, services, len(_SERVICE_KEY)),
    ):
        rolled = {tuple(row[:width]): row[width] for row in (await session.exec(select(table))).all()  # type: ignore[call-overload]
                  if row[width]}
        counted = {tuple(row[:width]): row[width] for row in (await session.exec(from_facts)).all()}  # type: ignore[call-overload]
        result[name] = {key: (rolled.get(key, 0), counted.get(key, 0)) for key in rolled.keys() | counted.keys()
                        if rolled.get(key, 0) != counted.get(key, 0)}
    return result


async def month_counts(session: AsyncSession, *, province: str, month: str) -> list[MonthlyReferralCount]:
    rows = await session.exec(
        select(MonthlyReferralCount).where(MonthlyReferralCount.province_code == province,  # type: ignore[call-overload]
                                           MonthlyReferralCount.intake_month == month,
                                           col(MonthlyReferralCount.referrals) != 0)
    )
    return list(rows.scalars().all())


async def month_services(session: AsyncSession, *, province: str, month: str) -> dict[str, int]:
    rows = await session.exec(
        select(MonthlyServiceCount.need_code, MonthlyServiceCount.services)  # type: ignore[call-overload]
        .where(MonthlyServiceCount.province_code == province, MonthlyServiceCount.intake_month == month,
               col(MonthlyServiceCount.services) != 0)
    )
    return dict(rows.all())
