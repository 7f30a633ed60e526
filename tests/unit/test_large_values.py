"""A filed form's megabytes are not kept by SQLite after they were written.

SQLite keeps the values last bound to a prepared statement until it runs again, and Python's
sqlite3 keeps statements prepared per connection: written through a pooled connection, the last
form's CSV, XLSX and rows stayed in reporting's memory (70 MB for a 113,000-person SP-12 in the
bench). SQLite's own heap counter (sqlite3_memory_used) shows it without any timing or RSS noise.
"""

import ctypes
import ctypes.util

from sqlalchemy import Column, Integer, MetaData, Table, Text, insert

from shared.db import make_engine, session_factory, session_for_large_values

MB = 1 << 20
FORM = Table("filed_forms", MetaData(), Column("id", Integer, primary_key=True), Column("csv", Text))


def sqlite_heap() -> int:
    """Bytes SQLite has allocated in this process (every connection, every thread)."""
    library = ctypes.CDLL(ctypes.util.find_library("sqlite3"))
    library.sqlite3_memory_used.restype = ctypes.c_int64
    return library.sqlite3_memory_used()


async def test_a_form_written_through_a_pooled_connection_stays_in_sqlite_memory_and_one_for_large_values_does_not(
    tmp_path,
):
    engine = make_engine(f"sqlite:///{tmp_path}/reporting.db")
    sessions = session_factory(engine)
    async with engine.begin() as connection:
        await connection.run_sync(FORM.metadata.create_all)
    csv = "เลขประจำตัว,ชื่อ\n" * (12 * MB // 48)  # 12 MB of UTF-8, as a province's SP-12 CSV
    try:
        before = sqlite_heap()
        async with sessions() as session:  # the control: what the month close did before
            await session.exec(insert(FORM).values(csv=csv))
            await session.commit()
        assert sqlite_heap() - before > 10 * MB, "SQLite no longer keeps bound values: this test proves nothing"
        await engine.dispose()

        before = sqlite_heap()
        async with session_for_large_values(sessions) as session:
            await session.exec(insert(FORM).values(csv=csv))
            await session.commit()
        assert sqlite_heap() - before < MB
        async with sessions() as session:  # the pool gives a working connection afterwards
            assert len((await session.exec(FORM.select())).all()) == 2
    finally:
        await engine.dispose()


async def test_an_in_memory_database_keeps_its_data_after_a_large_value_is_written():
    engine = make_engine("sqlite:///:memory:")  # tests and tools: the data lives in the one connection
    sessions = session_factory(engine)
    async with engine.begin() as connection:
        await connection.run_sync(FORM.metadata.create_all)
    try:
        async with session_for_large_values(sessions) as session:
            await session.exec(insert(FORM).values(csv="x" * MB))
            await session.commit()
        async with sessions() as session:
            assert len((await session.exec(FORM.select())).all()) == 1
    finally:
        await engine.dispose()
