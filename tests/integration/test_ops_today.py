"""Today's intakes by province on the ops page (GET /v1/ops/today), on SQLite and PostgreSQL:
every intake received that Thai day counts once, in its province, whether it produced
referrals, only services delivered at intake, or both; the day runs midnight to midnight in
Asia/Bangkok (17:00 to 17:00 UTC). Facts are made by reporting's own effects from the events."""

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reporting import effects
from reporting.models import TABLES
from reporting.ops import store
from reporting.ops.views import today_view
from shared.catalog import default_catalog
from shared.contracts import ReferralAssignedV2
from shared.db import create_tables, make_engine, session_factory
from tests.support.examples import intake_event, intake_for, thai_national_id
from tests.support.sealing import sealed_identity

pytestmark = pytest.mark.integration
BANGKOK = ZoneInfo("Asia/Bangkok")
DAY = date(2026, 11, 21)
SUKHOTHAI, CHACHOENGSAO = "640601", "240101"  # subdistricts: Si Samrong, Mueang Chachoengsao
REFERRED, SERVED = "job_registration", "drug_prevention_outreach"  # the second is delivered at intake


def bangkok(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BANGKOK).astimezone(UTC)


RNG = random.Random(621)
INTAKES = [  # (intake id, subdistrict, needs, received at)
    ("a-referred-at-midnight", SUKHOTHAI, [REFERRED], bangkok(DAY, 0, 0)),
    ("b-served-only", SUKHOTHAI, [SERVED], bangkok(DAY, 12, 0)),
    ("c-both", SUKHOTHAI, [REFERRED, "skill_training", SERVED], bangkok(DAY, 15, 30)),
    ("d-served-only-last-minute", CHACHOENGSAO, [SERVED], bangkok(DAY, 23, 59)),
    ("e-yesterday-late", SUKHOTHAI, [REFERRED], bangkok(DAY - timedelta(days=1), 23, 59)),
    ("f-tomorrow-served", CHACHOENGSAO, [SERVED], bangkok(DAY + timedelta(days=1), 0, 0)),
]


@pytest.fixture
async def sessions(database_url):
    engine = make_engine(database_url("reporting"))
    await create_tables(engine, TABLES)
    factory = session_factory(engine)
    catalog = default_catalog()
    async with factory() as session:
        for n, (label, subdistrict, needs, received_at) in enumerate(INTAKES):
            body = intake_for(thai_national_id(RNG), needs=needs, subdistrict=subdistrict)
            intake = intake_event(body, intake_id=f"00000000-0000-4000-8000-{n:012d}", received_at=received_at)
            await effects.intake_submitted(session, intake=intake, catalog=catalog, zone=BANGKOK)
        # An assignment whose intake reporting has not heard of: no intake, no province, not counted.
        await effects.referral_assigned(session, event=ReferralAssignedV2.model_validate({
            "event_id": "10000000-0000-4000-8000-000000000001", "occurred_at": bangkok(DAY, 9, 0).isoformat(),
            "correlation_id": "i-unknown", "producer": "routing", "referral_id": "r-orphan", "intake_id": "i-unknown",
            "agency": "skills", "need_code": "skill_training", "category": "develop", "person_ref": "p-orphan",
            "person": {"identity": sealed_identity("p-orphan", national_id=thai_national_id(RNG), full_name="ทดสอบ"),
                       "worker_type": "informal",
                       "address": {"subdistrict_code": SUKHOTHAI, "district_code": "6406", "province_code": "64"}},
            "catalog_version": "test", "routing_rule": "need:skill_training"}))
        await session.commit()
    yield factory
    await engine.dispose()


async def test_every_intake_of_the_thai_day_counts_once_in_its_province(sessions):
    async with sessions() as session:
        counts = await store.intakes_by_province(session, day=DAY, zone=BANGKOK)
    # a, b (services only), c (three needs, both tables) in Sukhothai; d (services only) in Chachoengsao.
    assert counts == {"64": 3, "24": 1}


async def test_the_days_either_side_have_their_own_intakes(sessions):
    async with sessions() as session:
        before = await store.intakes_by_province(session, day=DAY - timedelta(days=1), zone=BANGKOK)
        after = await store.intakes_by_province(session, day=DAY + timedelta(days=1), zone=BANGKOK)
    assert (before, after) == ({"64": 1}, {"24": 1})


async def test_the_answer_names_the_provinces_most_intakes_first(sessions):
    async with sessions() as session:
        counts = await store.intakes_by_province(session, day=DAY, zone=BANGKOK)
    view = today_view(day=DAY, zone=BANGKOK, counts=counts)
    assert (view["date"], view["timezone"], view["total"]) == ("2026-11-21", "Asia/Bangkok", 4)
    assert [(p["province"], p["name_en"], p["intakes"]) for p in view["provinces"]] == [
        ("64", "Sukhothai", 3), ("24", "Chachoengsao", 1)]
    assert view["provinces"][0]["name_th"] == "สุโขทัย"
