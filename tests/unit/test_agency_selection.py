"""Which agencies one agency-adapters process serves (AGENCY_AGENCIES): the setting, its wiring
into the consumers, and the overdue watch keeping to the same agencies."""

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

import agency_adapters.main as agency_main
from agency_adapters.models import TABLES, AgencyReferral, OverdueNotice
from agency_adapters.overdue import OverdueWatch
from agency_adapters.settings import AgencySettings
from shared.agencies import AGENCIES
from shared.auth import OidcSettings
from shared.db import create_tables, make_engine, session_factory
from shared.topics import Topics


def test_by_default_one_process_serves_all_four_agencies(monkeypatch):
    monkeypatch.delenv("AGENCY_AGENCIES", raising=False)
    assert AgencySettings().agencies == AGENCIES == ("employment", "skills", "welfare", "social_security")


def test_the_agencies_are_read_from_a_json_list_in_the_environment(monkeypatch):
    monkeypatch.setenv("AGENCY_AGENCIES", '["employment", "welfare", "social_security"]')
    assert AgencySettings().agencies == ("employment", "welfare", "social_security")
    monkeypatch.setenv("AGENCY_AGENCIES", '["skills"]')
    assert AgencySettings().agencies == ("skills",)


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("[]", "at least 1"),
        ('["skills", "welfare", "skills"]', "repeated: skills"),
        ('["skills", "farming"]', "employment"),  # the error lists the agencies allowed
        ("skills", "error parsing value"),  # a bare name is not a JSON list: refused, not guessed
    ],
)
def test_an_empty_repeated_or_unknown_selection_stops_the_service(monkeypatch, value, complaint):
    monkeypatch.setenv("AGENCY_AGENCIES", value)
    with pytest.raises((ValidationError, ValueError), match=complaint):
        AgencySettings()


def test_the_composition_root_passes_the_selection_to_the_consumers_and_the_watch(monkeypatch, tmp_path):
    seen: dict[str, tuple] = {}
    real_register, real_watch = agency_main.register_agency_consumers, agency_main.OverdueWatch

    def register(**kwargs):  # noqa: ANN003, ANN202
        seen["consumers"] = kwargs["agencies"]
        return real_register(**kwargs)

    def watch(**kwargs):  # noqa: ANN003, ANN202
        seen["watch"] = kwargs["agencies"]
        return real_watch(**kwargs)

    monkeypatch.setattr(agency_main, "register_agency_consumers", register)
    monkeypatch.setattr(agency_main, "OverdueWatch", watch)
    agency_main.build_app(AgencySettings(database_url=f"sqlite:///{tmp_path}/agency.db", agencies=("skills",),
                                         oidc=OidcSettings(issuer="https://issuer.songtor.test/realms/songtor")))
    assert seen == {"consumers": ("skills",), "watch": ("skills",)}


class _NoBroker:
    async def flush(self) -> int:
        return 0


async def test_the_overdue_watch_announces_only_its_own_agencies_breaches(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/agency.db")
    await create_tables(engine, TABLES)
    sessions = session_factory(engine)
    long_ago = datetime.now(UTC) - timedelta(days=60)
    async with sessions() as session:
        for agency in ("employment", "skills"):
            session.add(AgencyReferral(
                referral_id=f"ref-{agency}", agency=agency, intake_id="intake-1", need_code="x", category="develop",
                person_ref="p", province_code="64", person_json="{}", status="received", version=2, assigned_at=long_ago,
            ))
        await session.commit()

    watch = OverdueWatch(sessions=sessions, relay=_NoBroker(), topics=Topics(prefix="unit."), policies={},
                         interval_seconds=60, agencies=("skills",))
    assert await watch.scan(today=date.today()) > 0
    async with sessions() as session:
        noticed = {n.referral_id for n in (await session.exec(OverdueNotice.__table__.select())).all()}
    await engine.dispose()
    assert noticed == {"ref-skills"}
