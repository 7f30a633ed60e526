"""Rows staged for the commit (shared/db/staged.py): written at commit in the order staged, with the
model's column defaults, and dropped by a rollback or a session closed without commit."""

from datetime import UTC, datetime

import pytest
from sqlmodel import Field, SQLModel, select

from shared.db import create_tables, make_engine, session_factory, stage


class Note(SQLModel, table=True):
    __tablename__ = "staged_test_notes"

    id: int | None = Field(default=None, primary_key=True)
    key: str
    text: str
    state: str = "new"
    written_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


@pytest.fixture
async def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/staged.db")
    await create_tables(engine, [Note.__table__])
    yield session_factory(engine)
    await engine.dispose()


async def notes(sessions) -> list[tuple[int, str, str, str]]:  # noqa: ANN001
    async with sessions() as session:
        rows = (await session.exec(select(Note).order_by(Note.id))).all()
    assert all(isinstance(row.written_at, datetime) for row in rows)
    return [(row.id, row.key, row.text, row.state) for row in rows]


async def test_staged_rows_are_written_at_commit_in_order_with_the_defaults(sessions):
    async with sessions() as session:
        for n in range(3):
            stage(session, Note, {"key": f"k{n % 2}", "text": f"t{n}"})
        session.add(Note(key="orm", text="added", state="kept"))
        # A query of the same transaction sees the ORM row (autoflush), not the staged ones.
        assert [n.text for n in (await session.exec(select(Note))).all()] == ["added"]
        await session.commit()
    assert await notes(sessions) == [(1, "orm", "added", "kept"), (2, "k0", "t0", "new"), (3, "k1", "t1", "new"),
                                     (4, "k0", "t2", "new")]


async def test_a_rollback_or_a_close_without_commit_drops_them(sessions):
    async with sessions() as session:
        stage(session, Note, {"key": "a", "text": "rolled back"})
        await session.rollback()
        await session.commit()
    async with sessions() as session:
        stage(session, Note, {"key": "b", "text": "never committed"})
        await session.exec(select(Note))
    async with sessions() as session:
        stage(session, Note, {"key": "c", "text": "kept"})
        await session.commit()
        # The next transaction of the same session starts with nothing staged.
        await session.commit()
    assert await notes(sessions) == [(1, "c", "kept", "new")]


async def test_rows_of_one_table_must_name_the_same_columns(sessions):
    async with sessions() as session:
        stage(session, Note, {"key": "a", "text": "one"})
        with pytest.raises(ValueError, match="staged_test_notes must name the same columns"):
            stage(session, Note, {"key": "b", "text": "two", "state": "odd"})
