"""SQLite's writers of one process queue in arrival order (shared/db/engine.py, write_gate),
instead of polling the database lock with ever longer sleeps."""

import asyncio
from contextlib import nullcontext

from sqlalchemy import text

from shared.db import make_engine, write_gate


async def test_writers_of_one_process_take_turns_in_arrival_order_and_each_commits(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/service.db")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE turns (writer TEXT)"))
    seen: list[str] = []

    async def writer(name: str, hold: float) -> None:
        async with write_gate(engine), engine.begin() as connection:
            seen.append(f"{name} in")
            await connection.execute(text("INSERT INTO turns VALUES (:name)"), {"name": name})
            await asyncio.sleep(hold)  # a batch's effect, still in its transaction
            seen.append(f"{name} out")

    try:
        await asyncio.gather(writer("first", 0.05), writer("second", 0.0), writer("third", 0.0))
        assert seen == ["first in", "first out", "second in", "second out", "third in", "third out"]
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT writer FROM turns"))).scalars().all() == [
                "first", "second", "third"]
        assert write_gate(engine) is write_gate(engine)  # one queue per database and event loop
    finally:
        await engine.dispose()


async def test_postgresql_and_a_missing_engine_queue_nothing():
    engine = make_engine("postgresql://songtor@127.0.0.1:1/none")  # never connected
    assert isinstance(write_gate(engine), nullcontext)
    assert isinstance(write_gate(None), nullcontext)
    await engine.dispose()
