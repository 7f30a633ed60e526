"""Independence of the agencies (issue 4): stopping one agency's consumer for a long time never
slows or blocks the others, and on restart it catches up with nothing lost or doubled.

Two agency-adapters processes share one database, as in production: one runs employment,
welfare and social security, the other skills alone (AGENCY_AGENCIES). The skills process is
stopped, 1,000 intakes arrive, the other three finish; a new skills process then catches up
exactly. Timings are written to test-artifacts/<test>/independence-timing.json.
"""

import csv
import json
import random
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from shared.topics import Topics
from tests.support.examples import thai_national_id
from tests.support.kafka_io import json_of, read_to_end, read_topic
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

WARM_UP_ROWS, ROWS = 6, 1_000
OTHERS = ("employment", "welfare", "social_security")
# Every intake asks for training (skills) and one need of another agency, in turn.
OTHER_NEED = {"employment": "job_registration", "welfare": "wage_rights", "social_security": "ss_article40_enrolment"}
HEADERS = ["program", "org_unit", "reported_by", "national_id", "full_name", "worker_type", "subdistrict_code",
           "needs", "consent_to_share"]


def write_sheet(path: Path, *, rows: int, rng: random.Random, used_ids: set[str]) -> Counter[str]:
    """One new person per row (dedupe joins a person's open need), so every row makes two referrals."""
    expected: Counter[str] = Counter()
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=HEADERS)
        writer.writeheader()
        for number in range(rows):
            while (nid := thai_national_id(rng)) in used_ids:
                pass
            used_ids.add(nid)
            other = OTHERS[number % len(OTHERS)]
            expected.update(["skills", other])
            writer.writerow({
                "program": "walk_in", "org_unit": "6406", "reported_by": "officer-0017", "national_id": nid,
                "full_name": "สมชาย ใจดี", "worker_type": "informal", "subdistrict_code": "640601",
                "needs": f"skill_training; {OTHER_NEED[other]}", "consent_to_share": "yes",
            })
    return expected


def upload(intake_url: str, sheet: Path, clerk: httpx.Auth) -> dict:
    with sheet.open("rb") as file:
        answer = httpx.post(f"{intake_url}/v1/intakes/bulk", files={"file": (sheet.name, file)}, timeout=60, auth=clerk)
    assert answer.status_code == 202, answer.text
    status = eventually(
        lambda: httpx.get(f"{intake_url}{answer.json()['status_url']}", timeout=30, auth=clerk).json(),
        until=lambda s: s["state"] in ("done", "failed"), timeout=600, interval=1,
    )
    assert (status["state"], status["refused"]) == ("done", 0), status
    return status


class AgencyDatabase:
    """Reads the agencies' shared database directly: one query instead of paging four queues."""

    def __init__(self, url: str) -> None:
        self._engine = create_engine(url)

    def _rows(self, sql: str) -> list:
        with self._engine.connect() as connection:
            return list(connection.execute(text(sql)))

    def held(self) -> dict[str, int]:
        held = dict(self._rows("SELECT agency, count(*) FROM agency_referrals GROUP BY agency"))
        return {agency: held.get(agency, 0) for agency in ("skills", *OTHERS)}

    def moves(self, agency: str) -> dict[str, list[str]]:
        moves: dict[str, list[str]] = {}
        for referral_id, status in self._rows(
            "SELECT m.referral_id, m.status FROM agency_referral_moves m JOIN agency_referrals r"
            f" ON r.referral_id = m.referral_id WHERE r.agency = '{agency}' ORDER BY m.referral_id, m.version"
        ):
            moves.setdefault(referral_id, []).append(status)
        return moves

    def unpublished(self) -> int:
        return self._rows("SELECT count(*) FROM outbox_messages WHERE published_at IS NULL")[0][0]

    def close(self) -> None:
        self._engine.dispose()


def agency_process(start_service, database: str, agencies: tuple[str, ...], label: str):  # noqa: ANN001, ANN201
    return start_service("agency-adapters", {"AGENCY_AGENCIES": json.dumps(list(agencies))},
                         database=database, label=label)


async def test_a_stopped_skills_consumer_never_holds_up_the_others_and_catches_up_exactly(
    start_service, database_url, kafka_env, tmp_path, artifacts_dir, db_backend, identity
):
    shared_db = database_url("agency-adapters")
    agency_process(start_service, shared_db, OTHERS, "agency-adapters-others")
    skills = agency_process(start_service, shared_db, ("skills",), "agency-adapters-skills")
    start_service("routing")
    intake = start_service("intake", {"INTAKE_BULK_UPLOAD_DIR": str(tmp_path / "uploads")})
    db = AgencyDatabase(shared_db)
    topics = Topics(prefix=kafka_env["KAFKA_TOPIC_PREFIX"])
    bootstrap = kafka_env["KAFKA_BOOTSTRAP_SERVERS"]
    rng, used_ids = random.Random(4), set()

    # A warm-up that every agency takes in, so skills stops with committed offsets to resume from.
    warm_up = write_sheet(tmp_path / "warm-up.csv", rows=WARM_UP_ROWS, rng=rng, used_ids=used_ids)
    clerk = identity.auth("clerk-6406")
    upload(intake.url, tmp_path / "warm-up.csv", clerk)
    eventually(db.held, until=lambda held: held == dict(warm_up), timeout=120, interval=1)

    skills.stop()
    assert skills.process.returncode is not None, "the skills process is down"

    sheet = write_sheet(tmp_path / "intakes.csv", rows=ROWS, rng=rng, used_ids=used_ids)
    expected = warm_up + sheet
    begun = time.monotonic()
    job = upload(intake.url, tmp_path / "intakes.csv", clerk)
    assert job["accepted"] == ROWS
    timing = {"database": db_backend, "intakes": ROWS, "referrals": sum(sheet.values()),
              "intake_job_seconds": job["duration_seconds"]}

    # The other three take in every referral while skills is away.
    held = eventually(db.held, until=lambda held: all(held[a] == expected[a] for a in OTHERS),
                      timeout=900, interval=1)
    timing["others_finished_seconds"] = round(time.monotonic() - begun, 1)
    assert held["skills"] == warm_up["skills"], "skills took in referrals while its consumer was stopped"
    # ...and the skills referrals were not lost upstream: they wait on the skills topic.
    waiting = await read_topic(bootstrap, topics.referral_assigned("skills"), expect=expected["skills"], timeout=60)
    assert len(waiting) == expected["skills"]

    # A new skills process: it resumes the same consumer group where the old one stopped.
    restarted_at = time.monotonic()
    restarted = agency_process(start_service, shared_db, ("skills",), "agency-adapters-skills-restarted")
    eventually(db.held, until=lambda held: held["skills"] >= expected["skills"], timeout=900, interval=1)
    timing["skills_caught_up_seconds_after_restart"] = round(time.monotonic() - restarted_at, 1)
    eventually(db.unpublished, until=lambda pending: pending == 0, timeout=120, interval=1)
    timing["total_seconds"] = round(time.monotonic() - begun, 1)
    (artifacts_dir / "independence-timing.json").write_text(json.dumps(timing, indent=2))
    print(f"\nagency independence timing: {timing}")

    assert db.held() == dict(expected), "a referral lost or doubled"
    for agency in ("skills", *OTHERS):
        moves = db.moves(agency)
        assert len(moves) == expected[agency]
        assert Counter(tuple(m) for m in moves.values()) == {("assigned", "received"): expected[agency]}, agency
    skills_ids = sorted(db.moves("skills"))
    db.close()
    officer = identity.auth("officer-skills-64")
    for referral_id in random.Random(7).sample(skills_ids, 25):
        history = httpx.get(f"{restarted.url}/v1/referrals/{referral_id}/history", timeout=30, auth=officer).json()
        assert [m["status"] for m in history["moves"]] == ["assigned", "received"], history
    # Every one stored in the person's province, so the officers there see them in their queue.
    queue = httpx.get(f"{restarted.url}/v1/agencies/skills/referrals", params={"limit": 1000}, timeout=30, auth=officer)
    assert len(queue.json()["referrals"]) == min(1000, expected["skills"])
    assert {r["province_code"] for r in queue.json()["referrals"]} == {"64"}

    # Exactly one receipt per referral on referral.updated. Both processes' outbox relays see the
    # same outbox table: a receipt sent by both would be one record too many. Nothing is left to
    # publish (unpublished == 0 above: a row is marked only once the broker acknowledged it), so
    # every copy either relay sent is on the topic now: read it to its end.
    total = sum(expected.values())
    updates = await read_to_end(bootstrap, topics.referral_updated)
    receipts = Counter((json_of(r)["agency"], json_of(r)["referral_id"], json_of(r)["status"]) for r in updates)
    doubled = Counter((agency, status) for (agency, _rid, status), n in receipts.items() if n > 1)
    assert len(updates) == total and not doubled, f"{len(updates)} updates for {total}; doubled: {dict(doubled)}"
    assert sorted(rid for (agency, rid, status) in receipts if agency == "skills" and status == "received") == skills_ids
