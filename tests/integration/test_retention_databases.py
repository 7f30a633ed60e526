"""The retention purges on both databases (SQLite and the real PostgreSQL): the SQL they send
differs by dialect (intake's JSON functions, row-value IN on a composite key, timestamps without
zone compared with an aware clock), so each rule is run on each. The unit tests
(tests/unit/test_retention_*.py) cover every rule's cases on SQLite."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from agency_adapters.models import TABLES as AGENCY_TABLES, AgencyReferral
from agency_adapters.retention import PURGED_PERSON_JSON, agency_purges
from agency_adapters.settings import AgencySettings
from intake.bulk.models import TABLES as BULK_TABLES
from intake.bulk.settings import BulkSettings
from intake.models import TABLES as INTAKE_TABLES, IntakeRecord, ReferralStatusRecord
from intake.retention import intake_purges
from intake.settings import IntakeSettings
from shared.auth.audit import TABLES as AUDIT_TABLES
from shared.db import InboxEntry, OutboxMessage, create_tables, make_engine
from shared.db.retention import Purger
from shared.retention.rules import common_rules
from shared.retention.settings import RetentionSettings

pytestmark = pytest.mark.integration

NOW = datetime(2027, 6, 1, 3, 0, tzinfo=UTC)
RETENTION = RetentionSettings(inbox_days=100, outbox_days=7, closed_referral_days=365)
PERSON = {"national_id": "3640100456781", "full_name": "สมชาย ใจดี"}


async def add(engine, table, rows) -> None:  # noqa: ANN001
    async with engine.begin() as connection:
        await connection.execute(insert(table), rows)


async def test_intakes_rules_and_the_common_ones_on_each_database(database_url, tmp_path):
    engine = make_engine(database_url("intake"))
    await create_tables(engine, [*INTAKE_TABLES, *BULK_TABLES, *AUDIT_TABLES])
    settings = IntakeSettings(retention=RETENTION, bulk=BulkSettings(upload_dir=tmp_path / "uploads"))
    try:
        event = {"intake_id": "i-old", "person": PERSON, "needs": [{"code": "job_registration"}], "source": {}}
        await add(engine, IntakeRecord.__table__, [
            {"intake_id": intake_id, "received_at": NOW - timedelta(days=500), "person_ref": "ref", "program": "walk_in",
             "org_unit": "6406", "province_code": "64", "event_json": json.dumps({**event, "intake_id": intake_id})}
            for intake_id in ("i-old", "i-open")])
        await add(engine, ReferralStatusRecord.__table__, [
            {"referral_id": "r-old", "intake_id": "i-old", "need_code": "job_registration", "person_ref": "ref",
             "status": "completed", "updated_at": NOW - timedelta(days=366)},
            {"referral_id": "r-open", "intake_id": "i-open", "need_code": "job_registration", "person_ref": "ref",
             "status": "accepted", "updated_at": NOW - timedelta(days=400)}])
        await add(engine, InboxEntry.__table__, [
            {"consumer": f"c{n % 2}", "event_id": f"e{n}", "processed_at": NOW - timedelta(days=101 if n < 5 else 1)}
            for n in range(7)])
        await add(engine, OutboxMessage.__table__, [
            {"event_id": "published", "topic": "t", "key": "k", "payload": "{}", "created_at": NOW - timedelta(days=9),
             "published_at": NOW - timedelta(days=8)},
            {"event_id": "pending", "topic": "t", "key": "k", "payload": "{}", "created_at": NOW - timedelta(days=900),
             "published_at": None}])
        purger = Purger(engine=engine, purges=[*intake_purges(settings), *common_rules(RETENTION)], chunk_rows=2)
        counts = await purger.run_once(now=NOW)
        assert (counts["intake.person"], counts["inbox"], counts["outbox.published"]) == (1, 5, 1)
        assert (await purger.run_once(now=NOW))["intake.person"] == 0

        async with engine.connect() as connection:
            stored = dict((await connection.execute(select(IntakeRecord.__table__.c.intake_id,
                                                           IntakeRecord.__table__.c.event_json))).all())
            outbox = (await connection.execute(select(OutboxMessage.__table__.c.event_id))).scalars().all()
        assert json.loads(stored["i-old"])["person"] is None
        assert json.loads(stored["i-old"])["needs"] == [{"code": "job_registration"}]
        assert json.loads(stored["i-open"])["person"] == PERSON
        assert outbox == ["pending"]
    finally:
        await engine.dispose()


async def test_the_agency_rules_on_each_database(database_url):
    engine = make_engine(database_url("agency"))
    await create_tables(engine, AGENCY_TABLES)
    try:
        await add(engine, AgencyReferral.__table__, [
            {"referral_id": referral_id, "agency": "skills", "intake_id": "i", "need_code": "skill_training",
             "need_note": "ช่างเชื่อม", "category": "develop", "person_ref": "ref", "province_code": "64",
             "person_json": json.dumps(PERSON), "status": status, "version": 3, "assigned_at": NOW - timedelta(days=400),
             "updated_at": NOW - timedelta(days=366)}
            for referral_id, status in (("closed", "declined"), ("open", "accepted"))])
        purger = Purger(engine=engine, purges=agency_purges(AgencySettings(retention=RETENTION)))
        assert (await purger.run_once(now=NOW))["agency.person"] == 1
        async with engine.connect() as connection:
            rows = dict((await connection.execute(select(AgencyReferral.__table__.c.referral_id,
                                                         AgencyReferral.__table__.c.person_json))).all())
        assert rows == {"closed": PURGED_PERSON_JSON, "open": json.dumps(PERSON)}
    finally:
        await engine.dispose()
