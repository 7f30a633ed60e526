"""The retention purge (shared/db/retention.py) and the rules every service shares (inbox, outbox,
audit log), on an SQLite file with a controlled clock: rows older than their period go, younger
ones stay, a pending outbox row never goes, big tables go in chunks, and each rule's rows are
counted in Prometheus and in one log line without any row's content."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, event, func, insert, select, text

from agency_adapters.lifecycle import FINAL_STATUSES
from shared.auth.audit import TABLES as AUDIT_TABLES, PersonalDataRead, PersonalDataReadPerson
from shared.db import InboxEntry, OutboxMessage, create_tables, make_engine
from shared.db.retention import Purger, RetentionRule
from shared.retention.rules import CLOSED_STATUSES, common_rules
from shared.retention.settings import RetentionSettings

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = RetentionSettings(inbox_days=100, outbox_days=7, audit_days=400, closed_referral_days=365)
INBOX, OUTBOX = InboxEntry.__table__, OutboxMessage.__table__
READS, READ_PEOPLE = PersonalDataRead.__table__, PersonalDataReadPerson.__table__


@pytest.fixture
async def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/service.db")
    await create_tables(engine, [INBOX, OUTBOX, *AUDIT_TABLES])
    yield engine
    await engine.dispose()


async def add(engine, table: Table, rows: list[dict]) -> None:  # noqa: ANN001
    async with engine.begin() as connection:
        await connection.execute(insert(table), rows)


async def column(engine, table_column) -> list:  # noqa: ANN001
    async with engine.connect() as connection:
        return sorted((await connection.execute(select(table_column))).scalars())


def inbox_rows(*ages: timedelta, consumer: str = "routing") -> list[dict]:
    return [{"consumer": consumer, "event_id": f"e-{n}", "processed_at": NOW - age} for n, age in enumerate(ages)]


def outbox_row(event_id: str, *, created: timedelta, published: timedelta | None) -> dict:
    return {"event_id": event_id, "topic": "intake.submitted", "key": event_id, "payload": '{"person": "..."}',
            "created_at": NOW - created, "published_at": None if published is None else NOW - published}


def purger(engine, *, registry=None, chunk_rows: int = 1000, rules=None, clock=lambda: NOW) -> Purger:  # noqa: ANN001
    return Purger(engine=engine, purges=rules if rules is not None else common_rules(SETTINGS), registry=registry,
                  chunk_rows=chunk_rows, clock=clock, service="unit")


async def test_inbox_rows_older_than_the_period_go_and_younger_ones_stay(engine):
    await add(engine, INBOX, inbox_rows(timedelta(days=100, seconds=1), timedelta(days=400),
                                        timedelta(days=99, hours=23), timedelta(minutes=1)))
    counts = await purger(engine).run_once()
    assert counts["inbox"] == 2
    assert await column(engine, INBOX.c.event_id) == ["e-2", "e-3"]


async def test_published_outbox_rows_go_after_their_period_and_a_pending_row_never_does(engine):
    await add(engine, OUTBOX, [
        outbox_row("published-long-ago", created=timedelta(days=30), published=timedelta(days=29)),
        outbox_row("published-yesterday", created=timedelta(days=30), published=timedelta(days=1)),
        # Written a year ago and still refused by the broker: an event not yet sent.
        outbox_row("pending-for-a-year", created=timedelta(days=365), published=None),
    ])
    await purger(engine).run_once(now=NOW + timedelta(days=3000))  # even much later, pending stays
    assert await column(engine, OUTBOX.c.event_id) == ["pending-for-a-year"]


async def test_the_clock_decides_what_is_due(engine):
    await add(engine, INBOX, inbox_rows(timedelta(days=1)))
    clock = [NOW]
    job = purger(engine, clock=lambda: clock[0])
    assert (await job.run_once())["inbox"] == 0
    clock[0] = NOW + timedelta(days=99)  # the row is 100 days old, not older
    assert (await job.run_once())["inbox"] == 0
    clock[0] = NOW + timedelta(days=99, microseconds=1)
    assert (await job.run_once())["inbox"] == 1


async def test_a_big_table_goes_in_chunks_each_in_a_short_transaction_of_its_own(engine):
    await add(engine, INBOX, inbox_rows(*[timedelta(days=200)] * 50, *[timedelta(days=1)] * 3))
    statements: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _seen(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        statements.append(statement.split()[0].upper())

    counts = await purger(engine, chunk_rows=7).run_once()
    assert counts["inbox"] == 50
    assert statements.count("DELETE") == 8  # 7 chunks of 7, one of 1
    assert len(await column(engine, INBOX.c.event_id)) == 3


async def test_purged_rows_are_counted_per_rule_and_logged_as_numbers_only(engine, caplog):
    registry = CollectorRegistry()
    await add(engine, INBOX, inbox_rows(timedelta(days=101), timedelta(days=102), timedelta(days=103)))
    await add(engine, OUTBOX, [outbox_row("e", created=timedelta(days=9), published=timedelta(days=8))])
    job = purger(engine, registry=registry)
    with caplog.at_level(logging.INFO, logger="songtor.retention"):
        await job.run_once()
        await add(engine, INBOX, inbox_rows(timedelta(days=104), consumer="reporting"))
        await job.run_once()
    sample = registry.get_sample_value
    assert sample("songtor_retention_purged_rows_total", {"rule": "inbox"}) == 4
    assert sample("songtor_retention_purged_rows_total", {"rule": "outbox.published"}) == 1
    assert sample("songtor_retention_last_run_timestamp_seconds") > 0
    lines = [record.getMessage() for record in caplog.records if record.name == "songtor.retention"]
    assert len(lines) == 2
    assert "inbox=3" in lines[0] and "outbox.published=1" in lines[0] and "audit.reads=0" in lines[0]
    assert "person" not in " ".join(lines) and "e-0" not in " ".join(lines)


async def test_the_audit_log_goes_after_its_own_long_period_people_with_their_read(engine):
    def read(read_id: str, age: timedelta) -> dict:
        return {"read_id": read_id, "at": NOW - age, "actor": "province-64", "actor_name": "province-64",
                "service": "intake", "method": "GET", "route": "/v1/intakes/{intake_id}", "request_scope": "{}",
                "caller_scope": "{}", "status": 200, "people": 1}

    await add(engine, READS, [read("old", timedelta(days=401)), read("young", timedelta(days=399))])
    await add(engine, READ_PEOPLE, [{"read_id": "old", "person_ref": "p1"}, {"read_id": "old", "person_ref": "p2"},
                                    {"read_id": "young", "person_ref": "p1"}])
    counts = await purger(engine).run_once()
    assert (counts["audit.read_people"], counts["audit.reads"]) == (2, 1)
    assert await column(engine, READS.c.read_id) == ["young"]
    assert await column(engine, READ_PEOPLE.c.read_id) == ["young"]


async def test_personal_rules_overwrite_what_they_delete_and_give_the_connection_back_as_it_came(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/service.db")

    @event.listens_for(engine.sync_engine, "connect")
    def _off(dbapi_connection, _record) -> None:  # noqa: ANN001 - SQLite's build sets the default (Debian's: on)
        dbapi_connection.execute("PRAGMA secure_delete=0")

    await create_tables(engine, [INBOX, OUTBOX, *AUDIT_TABLES])
    row = outbox_row("e", created=timedelta(days=9), published=timedelta(days=8))
    await add(engine, OUTBOX, [{**row, "payload": '{"person": {"full_name": "NAME-TO-FORGET"}}'}])
    await add(engine, INBOX, inbox_rows(timedelta(days=101)))
    seen: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _seen(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if statement.startswith(("PRAGMA secure_delete", "DELETE FROM")):
            seen.append(statement.split(" WHERE")[0])

    try:
        await purger(engine).run_once()
        assert seen == ["DELETE FROM inbox_processed_events",  # event ids only: not personal
                        "PRAGMA secure_delete", "PRAGMA secure_delete=1", "DELETE FROM outbox_messages",
                        "PRAGMA secure_delete=0"]
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA secure_delete"))).scalar() == 0
            await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        assert b"NAME-TO-FORGET" not in (tmp_path / "service.db").read_bytes()
    finally:
        await engine.dispose()


async def test_a_scrub_rule_clears_its_columns_once_and_counts_nothing_the_second_time(tmp_path):
    metadata = MetaData()
    notes = Table("notes", metadata, Column("id", Integer, primary_key=True), Column("at", DateTime),
                  Column("text", String, nullable=True), Column("kind", String))
    engine = make_engine(f"sqlite:///{tmp_path}/notes.db")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
        await connection.execute(insert(notes), [
            {"id": n, "at": NOW - timedelta(days=10 if n < 5 else 1), "text": f"note {n}", "kind": "x"}
            for n in range(8)])
    rule = RetentionRule(name="notes", table=notes, age=notes.c.at, max_age=timedelta(days=5),
                         where=notes.c.text.is_not(None), scrub={"text": None})
    try:
        assert (await purger(engine, rules=[rule], chunk_rows=2).run_once())["notes"] == 5
        assert (await purger(engine, rules=[rule], chunk_rows=2).run_once())["notes"] == 0
        async with engine.connect() as connection:
            rows = (await connection.execute(select(notes.c.id, notes.c.text).order_by(notes.c.id))).all()
            assert rows == [(n, None if n < 5 else f"note {n}") for n in range(8)]
            assert (await connection.execute(select(func.count()).select_from(notes))).scalar() == 8
    finally:
        await engine.dispose()


async def test_a_failing_rule_stops_the_run_and_the_rules_after_it_wait_for_the_next(engine):
    class Broken:
        name = "broken"

        async def purge(self, engine, *, now, chunk_rows):  # noqa: ANN001, ANN201
            raise RuntimeError("database away")

    await add(engine, INBOX, inbox_rows(timedelta(days=101)))
    job = purger(engine, rules=[Broken(), *common_rules(SETTINGS)])
    with pytest.raises(RuntimeError):
        await job.run_once()
    assert await column(engine, INBOX.c.event_id) == ["e-0"]


def test_a_rule_needs_a_positive_period_and_names_must_differ(engine):
    with pytest.raises(ValueError, match="positive"):
        RetentionRule(name="inbox", table=INBOX, age=INBOX.c.processed_at, max_age=timedelta(0))
    with pytest.raises(ValueError, match="distinct"):
        purger(engine, rules=[*common_rules(SETTINGS), *common_rules(SETTINGS)])


def test_closed_statuses_are_the_lifecycles_final_ones():
    assert CLOSED_STATUSES == FINAL_STATUSES


async def test_every_rules_counter_is_there_at_zero_before_it_purges_anything(engine):
    registry = CollectorRegistry()
    purger(engine, registry=registry)
    for rule in common_rules(SETTINGS):
        assert registry.get_sample_value("songtor_retention_purged_rows_total", {"rule": rule.name}) == 0
