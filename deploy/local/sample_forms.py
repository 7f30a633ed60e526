"""Sample forms from the demo data: SP-12 of each org unit and SNB-2 of each province of
`deploy/local/demo_intakes.json`, as CSV and XLSX, into docs/samples/ (linked from the README).

    .venv/bin/python deploy/local/sample_forms.py [--out docs/samples]

No Kafka and no services: the events are built by the same pure code the services run
(intake.domain → person.keys and intake.submitted, routing.domain.route_intake → referral.assigned or
referral.unroutable) and fed to the reporting service's own consumers on FastStream's in-memory
broker, into a throwaway SQLite database; then the forms are built as the API builds them.
A first referral of each intake is completed with its agency's first outcome code, so the
assistance column shows results; half the people are on an informal-labour registry snapshot,
so SNB-2 shows ticks of both kinds.

Everything that could vary is fixed (ids derived from the demo row, receipt times, the
registry, the forms' generated_at), so running it again writes byte-identical files;
tests/unit/test_sample_forms.py regenerates them and compares.
"""

import argparse
import asyncio
import csv
import json
import sys
import tempfile
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "services")]

DEMO = Path(__file__).with_name("demo_intakes.json")
OUT = REPO / "docs" / "samples"
BANGKOK = ZoneInfo("Asia/Bangkok")
MONTH = "2026-11"
FIRST_RECEIPT = datetime(2026, 11, 2, 10, 0, tzinfo=BANGKOK)
SP12_GENERATED_AT = datetime(2026, 11, 25, 9, 0, tzinfo=BANGKOK)  # SP-12's due day
SNB2_GENERATED_AT = datetime(2026, 12, 5, 9, 0, tzinfo=BANGKOK)  # SNB-2's, in the next month
REGISTRY_DATE = date(2026, 10, 1)
PERSON_REF_KEY = "songtor-demo-samples"  # never printed on a form; fixed so the run is reproducible
_IDS = uuid.UUID("5d3c2b1a-0000-4000-8000-000000000000")


def _uuid(*parts: object) -> uuid.UUID:
    return uuid.uuid5(_IDS, "/".join(str(p) for p in parts))


def demo_events(*, bodies: list[dict], catalog, outcomes, master_keys) -> list[tuple[str, object]]:  # noqa: ANN001
    """(topic family, event) in the order the log would hold them: each person's key the first time
    they come, each intake (sealed with it), its routing, then the agency's moves on its first
    referral (received, accepted, completed)."""
    from intake.domain import build_intake_event
    from intake.request import IntakeRequest
    from routing.domain import route_intake
    from shared import ids
    from shared.contracts import ReferralAssignedV2, ReferralUpdatedV2
    from shared.privacy.keyring import key_event, key_record
    from shared.privacy.sealing import new_person_key

    events: list[tuple[str, object]] = []
    keys: dict[str, object] = {}
    for number, body in enumerate(bodies):
        request = IntakeRequest.model_validate(body)
        received = FIRST_RECEIPT + timedelta(days=number, minutes=17 * number)
        person_ref = ids.person_ref(national_id=request.person.national_id, key=PERSON_REF_KEY)
        if person_ref not in keys:
            keys[person_ref] = new_person_key(person_ref)
            events.append(("keys", key_event(key_record(keys[person_ref], wrapper=master_keys, at=received),
                                             producer="intake")))
        intake = build_intake_event(
            request=request, intake_id=str(_uuid("intake", number)), event_id=_uuid("intake-event", number),
            received_at=received, person_key=keys[person_ref],
        )
        events.append(("intake", intake))
        routed = route_intake(intake=intake, catalog=catalog, routed_at=received + timedelta(seconds=2))
        events += [("assigned" if isinstance(r.event, ReferralAssignedV2) else "unroutable", r.event) for r in routed]
        first = next((r.event for r in routed if isinstance(r.event, ReferralAssignedV2)), None)
        if first is None:
            continue
        outcome = outcomes.for_agency(first.agency)[0]
        moves = [("received", None), ("accepted", None), ("completed", outcome.code)]
        previous = "assigned"
        for version, (status, code) in enumerate(moves, start=2):
            events.append(("updated", ReferralUpdatedV2(
                event_id=_uuid("move", first.referral_id, version), occurred_at=received + timedelta(days=version),
                correlation_id=intake.intake_id, producer="agency-adapters", referral_id=first.referral_id,
                intake_id=intake.intake_id, person_ref=person_ref, agency=first.agency, status=status,
                previous_status=previous,
                version=version, outcome_code=code, actor="demo-officer",
            )))
            previous = status
    return events


async def _registry(engine, *, bodies: list[dict], work: Path) -> None:  # noqa: ANN001
    """Every other demo person on the informal-labour registry as of 1 October 2026."""
    from reporting.registries import import_registry

    path = work / "informal-labour.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(("national_id", "household_id", "province", "district"))
        for body in bodies[::2]:
            code = body["person"]["address"]["subdistrict_code"]
            writer.writerow((body["person"]["national_id"], "", code[:2], code[:4]))
    await import_registry(engine, kind="informal_labour", effective_date=REGISTRY_DATE, path=path,
                          person_ref_key=PERSON_REF_KEY, today=SNB2_GENERATED_AT.date())
    # Loaded on its effective day, before the demo referrals: a form only uses snapshots already
    # loaded when a person was referred, and the real load time would make the samples vary.
    from sqlalchemy import update

    from reporting.registries import RegistryImport
    async with engine.begin() as connection:
        await connection.execute(update(RegistryImport).values(
            imported_at=datetime.combine(REGISTRY_DATE, datetime.min.time(), tzinfo=ZoneInfo("Asia/Bangkok"))))


async def generate(*, out: Path, work: Path) -> list[Path]:
    """Writes the sample files into `out`; returns them in the order written."""
    from faststream.kafka import TestKafkaBroker
    from prometheus_client import CollectorRegistry

    from reporting.form_sources import Catalogs, build_snb2, build_sp12
    from reporting.forms import file_name, parse_month, render
    from reporting.handlers import register_reporting_handlers
    from reporting.models import TABLES
    from shared.catalog import load_catalog
    from shared.catalog.outcomes import load_outcomes
    from shared.db import create_tables, make_engine, session_factory
    from shared.kafka import build_broker
    from shared.privacy import SealingSettings, master_keys_from
    from shared.settings import KafkaSettings

    bodies = json.loads(DEMO.read_text(encoding="utf-8"))
    catalogs = Catalogs(needs=load_catalog(), outcomes=load_outcomes())
    master_keys = master_keys_from(SealingSettings(environment="local"))
    engine = make_engine(f"sqlite:///{work / 'reporting.db'}")
    written: list[Path] = []
    try:
        await create_tables(engine, TABLES)
        sessions = session_factory(engine)
        kafka = KafkaSettings(topic_prefix="samples.")
        broker = build_broker(bootstrap_servers="unused:9092", service="reporting", registry=CollectorRegistry())
        register_reporting_handlers(broker=broker, kafka=kafka, sessions=sessions, catalog=catalogs.needs,
                                    zone=BANGKOK)
        topics = kafka.topics
        # Loaded before the referrals, as an office would have it: each help is stamped with the
        # snapshot in effect when its intake is applied.
        await _registry(engine, bodies=bodies, work=work)
        async with TestKafkaBroker(broker) as test_broker:
            for family, event in demo_events(bodies=bodies, catalog=catalogs.needs, outcomes=catalogs.outcomes,
                                             master_keys=master_keys):
                topic = {"intake": topics.intake_submitted, "updated": topics.referral_updated,
                         "unroutable": topics.referral_unroutable, "keys": topics.person_keys,
                         }.get(family) or topics.referral_assigned(event.agency)
                key = getattr(event, "referral_id", None) or getattr(event, "intake_id", None) or event.person_ref
                await test_broker.publish(event, topic, key=key.encode())
        month = parse_month(MONTH)
        org_units = sorted({b["source"]["org_unit"] for b in bodies})
        provinces = sorted({b["person"]["address"]["subdistrict_code"][:2] for b in bodies})
        out.mkdir(parents=True, exist_ok=True)
        async with sessions() as session:
            forms = [await build_sp12(session, org_unit=unit, month=month, catalogs=catalogs,
                                      master_keys=master_keys, generated_at=SP12_GENERATED_AT) for unit in org_units]
            forms += [await build_snb2(session, province=province, month=month, catalogs=catalogs,
                                       master_keys=master_keys, generated_at=SNB2_GENERATED_AT) for province in provinces]
        for form in forms:
            for fmt in ("csv", "xlsx"):
                path = out / file_name(form, fmt=fmt)
                path.write_bytes(render(form, fmt=fmt))
                written.append(path)
    finally:
        await engine.dispose()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sample-forms-") as work:
        written = asyncio.run(generate(out=args.out, work=Path(work)))
    for path in written:
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


if __name__ == "__main__":
    main()
