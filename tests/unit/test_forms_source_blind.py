"""PDPA s.26 on the forms: no cell of SP-12 or SNB-2 tells who came from a drug-rehabilitation
or CI centre. A month with people from every source programme goes the way the services take it
(intake.domain → routing.domain → the agencies' moves → reporting's consumers' effects, on
SQLite) and the forms are built as the API builds them. Each profile below is taken in from all
five programmes by "twins" with the same name and everything else the same but the ID: their
rows must be the same cell for cell but the ID; and the same month with the programmes dealt
out to other people must give the same files, byte for byte.
"""

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from agency_adapters.lifecycle import Move, updated_event
from intake.domain import build_intake_event
from intake.request import IntakeRequest
from reporting import form_sources
from reporting.forms import FormTable, parse_month, render
from reporting.models import TABLES
from reporting.registries.loader import import_registry
from routing.domain import route_intake
from shared import ids
from shared.catalog import default_catalog
from shared.contracts import ReferralAssignedV2
from shared.db import create_tables, make_engine, session_factory
from tests.support import report_scenario as scenario
from tests.support.registry_files import person_rows, valid_ids, write_registry
from tests.support.report_reading import GENERATED_AT, apply_events, backdate_registry, catalogs
from tests.support.source_twins import PROGRAMMES, SENSITIVE, as_from
from tests.support.sealing import MASTER_KEYS, person_key

BANGKOK = ZoneInfo("Asia/Bangkok")
KEY = "source-blind-forms-key"
MONTH = "2026-11"
RECEIVED = datetime(2026, 11, 10, 10, 0, tzinfo=BANGKOK)
_IDS = uuid.UUID("0e7c6a52-9d1b-4c3a-8f15-2b6d4e8a1c90")

# (name, worker type, birth date, sex, needs, consent, on the registry, the first referral's
# moves and outcome): one of each kind of row the forms print, served at intake included.
PROFILES = (
    ("สมชาย ใจดี", "informal", "1969-03-14", "male", ["job_registration", "skill_training", "ss_article40_enrolment"],
     True, True, ("received", "accepted", "completed"), "registered"),
    ("เพ็ญศรี แก้วมณี", "elderly", "1960-05-01", "female", ["ss_article33_benefit_check"],
     True, False, ("received", "accepted", "completed"), "not_eligible"),
    ("บุญมี ศรีสุข", "disabled", "1980-01-20", "male", ["wage_rights", "drug_prevention_outreach"],
     True, True, ("received",), None),
    ("กานดา ทองดี", "informal", "1990-08-08", "female", ["drug_prevention_outreach"],
     False, False, (), None),
    ("วันเพ็ญ มีสุข", "formal", "1985-12-31", "female", ["overseas_work"],
     True, False, ("received", "declined"), None),
)
NATIONAL_IDS = valid_ids(len(PROFILES) * len(PROGRAMMES), seed=26)


def people(*, shift: int = 0) -> list[tuple[int, str, str]]:
    """(profile, programme, national ID) of everyone helped; `shift` deals the programmes out to
    other people of the same profile."""
    return [(p, PROGRAMMES[(n + shift) % len(PROGRAMMES)], NATIONAL_IDS[p * len(PROGRAMMES) + n])
            for p in range(len(PROFILES)) for n in range(len(PROGRAMMES))]


def body_of(profile: int, *, program: str, national_id: str) -> dict:
    name, worker, born, sex, needs, consent, *_ = PROFILES[profile]
    base = {
        "source": {"program": "walk_in", "org_unit": "6406", "reported_by": "officer-0017"},
        "person": {"national_id": national_id, "full_name": name, "sex": sex, "birth_date": born,
                   "phone": "0812345678", "worker_type": worker, "address": {"subdistrict_code": "640601"}},
        "needs": [{"code": code} for code in needs],
        "consent": {"share_with_agencies": consent, "recorded_at": RECEIVED.isoformat()},
    }
    return as_from(base, program=program)


def events_of(profile: int, *, program: str, national_id: str) -> list[tuple[str, object]]:
    """The intake, its routing and the agency's moves on its first referral, as (kind, event)."""
    intake_id = str(uuid.uuid5(_IDS, national_id))
    intake = build_intake_event(
        request=IntakeRequest.model_validate(body_of(profile, program=program, national_id=national_id)),
        intake_id=intake_id, event_id=ids.derived_event_id(source_id=intake_id, purpose="submitted"),
        received_at=RECEIVED, person_key=person_key(ids.person_ref(national_id=national_id, key=KEY)))
    events: list[tuple[str, object]] = [("intake", intake)]
    routed = [r.event for r in route_intake(intake=intake, catalog=default_catalog(), routed_at=RECEIVED + timedelta(minutes=1))]
    events += [("assigned", event) for event in routed]
    *_, steps, outcome = PROFILES[profile]
    if routed and steps:
        first: ReferralAssignedV2 = routed[0]  # type: ignore[assignment]
        previous = "assigned"
        for version, status in enumerate(steps, start=2):
            last = version == len(steps) + 1
            move = Move(status=status, actor=f"officer-{first.agency}",  # type: ignore[arg-type]
                        outcome_code=outcome if last and status == "completed" else None,
                        reason_code="person_refused" if status == "declined" else None)
            events.append(("updated", updated_event(
                referral_id=first.referral_id, intake_id=intake_id, person_ref=first.person_ref, agency=first.agency,
                status=status,  # type: ignore[arg-type]
                previous_status=previous, version=version, actor=move.actor,  # type: ignore[arg-type]
                occurred_at=RECEIVED + timedelta(days=version), move=move)))
            previous = status
    return events


async def month_forms(directory: Path, *, shift: int = 0) -> tuple[FormTable, FormTable]:
    """SP-12 of org unit 6406 and SNB-2 of Sukhothai for the month, everyone taken in."""
    directory.mkdir()
    engine = make_engine(f"sqlite:///{directory}/reporting.db")
    try:
        await create_tables(engine, TABLES)
        listed = [nid for p, _, nid in people() if PROFILES[p][6]]
        registry = write_registry(directory / "informal-labour.csv", person_rows(listed))
        await import_registry(engine, kind="informal_labour", effective_date=scenario.REGISTRY_EFFECTIVE,
                              path=registry, person_ref_key=KEY)
        await backdate_registry(engine)
        sessions = session_factory(engine)
        await apply_events(sessions, [pair for p, program, nid in people(shift=shift)
                                      for pair in events_of(p, program=program, national_id=nid)])
        month = parse_month(MONTH)
        async with sessions() as session:
            sp12 = await form_sources.build_sp12(session, org_unit="6406", month=month, catalogs=catalogs(),
                                                 master_keys=MASTER_KEYS, generated_at=GENERATED_AT)
            snb2 = await form_sources.build_snb2(session, province="64", month=month, catalogs=catalogs(),
                                                 master_keys=MASTER_KEYS, generated_at=GENERATED_AT)
        return sp12, snb2
    finally:
        await engine.dispose()


async def test_no_cell_tells_a_rehabilitation_or_ci_person_from_their_twin_of_another_programme(tmp_path):
    who = {nid: (p, program) for p, program, nid in people()}
    for form in await month_forms(tmp_path / "month"):
        id_column = min(form.text_columns)
        by_profile: dict[int, dict[str, tuple]] = {}
        for row in form.rows:
            profile, program = who[str(row[id_column])]
            # All but the sequence number (Thai name order, the ID breaking the tie) and the ID.
            by_profile.setdefault(profile, {})[program] = tuple(
                cell for column, cell in enumerate(row) if column not in (0, id_column))
        assert sorted(by_profile) == list(range(len(PROFILES))), form.form
        for profile, rows in by_profile.items():
            assert sorted(rows) == sorted(PROGRAMMES), (form.form, profile)  # everyone is listed
            for program in SENSITIVE:
                others = {other: cells for other, cells in rows.items() if other not in SENSITIVE}
                assert all(rows[program] == cells for cells in others.values()), (form.form, profile, program, rows)
        assert form.person_count == len(PROFILES) * len(PROGRAMMES)


async def test_the_forms_are_the_same_files_whoever_came_from_which_programme(tmp_path):
    as_taken = await month_forms(tmp_path / "as-taken")
    for shift in (1, 2):  # every person's programme changed, twice over
        dealt_again = await month_forms(tmp_path / f"shift-{shift}", shift=shift)
        for before, after in zip(as_taken, dealt_again, strict=True):
            for fmt in ("csv", "xlsx"):
                assert render(after, fmt=fmt) == render(before, fmt=fmt), (before.form, fmt, shift)
