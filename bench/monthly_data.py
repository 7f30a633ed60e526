"""Referral facts for bench/monthly_aggregation.py: generated the way the offices' work is
spread, and bulk-loaded (executemany on SQLite, COPY on PostgreSQL) into the reporting tables."""

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")
# Province: relative share of the work. Skewed like the offices' own numbers: one province has
# about a fifth of all referrals, most have a few percent.
PROVINCES = {"10": 20, "30": 10, "40": 9, "50": 8, "24": 8, "13": 7, "90": 7, "34": 6, "41": 6, "64": 5,
             "20": 5, "65": 4, "80": 3, "57": 2}
MONTHS = [f"{2025 + (m + 9) // 12}-{(m + 9) % 12 + 1:02d}" for m in range(24)]  # 2025-10 .. 2027-09
STATUSES = {"completed": 40, "in_progress": 10, "accepted": 10, "received": 10, "assigned": 10, "declined": 5,
            "unreachable": 4, "cancelled": 4, "transferred": 4, "unroutable": 3}
SOURCES = {"informal_labour_unit": 40, "walk_in": 25, "tpmap": 20, "rehab_center": 10, "ci_center": 5}
WORKERS = {"informal": 70, "elderly": 20, "disabled": 7, "formal": 3}
FACT_COLUMNS = ("referral_id", "intake_id", "need_code", "agency", "category", "status", "status_version",
                "outcome_code", "has_intake", "province_code", "district_code", "subdistrict_code", "org_unit",
                "source_program", "worker_type", "person_ref", "intake_received_at", "intake_month",
                "completed_month", "updated_at")
SERVICE_COLUMNS = ("intake_id", "need_code", "category", "province_code", "district_code", "org_unit",
                   "source_program", "worker_type", "person_ref", "intake_month", "recorded_at")
PERSON_COLUMNS = ("person_ref", "identity_json", "updated_at")
KEY_COLUMNS = ("person_ref", "key_id", "kek_id", "wrapped_key", "issued_at")
TABLES = ("referral_facts", "intake_service_facts", "report_people", "person_keys")
Data = tuple[list[tuple], list[tuple], list[tuple], list[tuple]]
NAMES = ("สมชาย", "สมหญิง", "มานะ", "ปิติ", "ชูใจ", "มาลี", "ประเสริฐ", "วันดี", "สุดา", "บุญมี")
SURNAMES = ("ใจดี", "รักงาน", "อดทน", "ยินดี", "ศรีสุข", "ทองดี", "มั่นคง", "สุขใจ")


def _pick(rng: random.Random, weights: dict[str, int]) -> Callable[[], str]:
    keys, cumulative = list(weights), []
    total = 0
    for weight in weights.values():
        total += weight
        cumulative.append(total)
    return lambda: rng.choices(keys, cum_weights=cumulative)[0]


def generate(*, rows: int, seed: int = 5) -> Data:
    """(referral facts, services at intake, people, their keys) as tuples in the column orders above.
    Identities are sealed as intake seals them, with keys wrapped by the development master key."""
    import geothai
    from stdnum.th import pin

    from shared.catalog import load_catalog
    from shared.catalog.outcomes import load_outcomes
    from shared.contracts import SealedIdentity
    from shared.privacy import SealingSettings, master_keys_from, seal_model
    from shared.privacy.keyring import key_record
    from shared.privacy.sealing import new_person_key

    rng = random.Random(seed)
    catalog, outcomes = load_catalog(), load_outcomes()
    referred = [n for n in catalog.needs.values() if not n.delivered_at_intake and n.agency]
    at_intake = [n for n in catalog.needs.values() if n.delivered_at_intake]
    outcome_codes = {a: [c for (agency, c) in outcomes.outcomes if agency == a] for a in {n.agency for n in referred}}
    districts = {p: [d.code for d in geothai.districts(p)] for p in PROVINCES}
    province, status, source, worker = (_pick(rng, w) for w in (PROVINCES, STATUSES, SOURCES, WORKERS))
    people_count = max(1, int(rows / 2.5))
    people, keys = [], []
    master_keys = master_keys_from(SealingSettings(environment="test"))
    for n in range(people_count):
        first12 = f"{rng.randint(1, 8)}{rng.randrange(10 ** 11):011d}"
        key = new_person_key(f"{n:064x}")
        identity = SealedIdentity(national_id=first12 + pin.calc_check_digit(first12),
                                  full_name=f"{rng.choice(NAMES)} {rng.choice(SURNAMES)}")
        sealed = seal_model(identity, key=key, field="identity", sealed_in=f"bench-intake-{n}")
        people.append((key.person_ref, sealed.model_dump_json(), datetime(2027, 10, 1)))
        keys.append(tuple(key_record(key, wrapper=master_keys, at=datetime(2027, 10, 1)).values()))
    facts, services, now = [], [], datetime(2027, 10, 1)
    intake = 0
    while len(facts) < rows:
        intake += 1
        # Later months busier than early ones: the programme grows.
        month = MONTHS[min(23, int(24 * rng.random() ** 0.8))]
        local = datetime(int(month[:4]), int(month[5:]), rng.randint(1, 28), rng.randint(8, 16), rng.randrange(60),
                         tzinfo=BANGKOK)
        received = local.astimezone(UTC).replace(tzinfo=None)
        prov = province()
        district = rng.choice(districts[prov])
        ref = people[rng.randrange(people_count)][0]
        program, kind = source(), worker()
        intake_id = f"{intake:08x}-0000-4000-8000-000000000000"
        for need in rng.sample(referred, k=min(len(referred), rng.choice((1, 1, 2, 2, 3)))):
            state = status()
            outcome = rng.choice(outcome_codes[need.agency]) if state == "completed" and outcome_codes[need.agency] else None
            done = local + timedelta(days=rng.randint(1, 40)) if state in ("completed", "declined") else None
            facts.append((f"{len(facts):08x}-{intake % 65536:04x}-4000-8000-{len(facts):012x}", intake_id, need.code,
                          need.agency, need.category, state, 3, outcome, rng.random() > 0.002, prov, district,
                          f"{district}01", district, program, kind, ref, received, month,
                          done.strftime("%Y-%m") if done else None, now))
        if rng.random() < 0.1:  # one intake in ten: about one service per twenty referrals
            need = rng.choice(at_intake)
            services.append((intake_id, need.code, need.category, prov, district, district, program, kind, ref,
                             month, now))
    return facts[:rows], services, people, keys


def _sqlite_cell(value: object) -> object:
    # SQLAlchemy's SQLite dialect stores datetimes as this text; the benchmark writes the same.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value


def load_sqlite(path: Path, data: Data) -> None:
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        for table, columns, rows in zip(TABLES, (FACT_COLUMNS, SERVICE_COLUMNS, PERSON_COLUMNS, KEY_COLUMNS), data,
                                        strict=True):
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            connection.executemany(sql, ([_sqlite_cell(v) for v in row] for row in rows))
        connection.commit()
        connection.execute("ANALYZE")
    finally:
        connection.close()


def load_postgres(url: str, data: Data) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        with connection.cursor() as cursor:
            for table, columns, rows in zip(TABLES, (FACT_COLUMNS, SERVICE_COLUMNS, PERSON_COLUMNS, KEY_COLUMNS), data,
                                            strict=True):
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
