"""The contract example and small builders of valid intakes for tests."""

import copy
import json
import random
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONTRACT_DIR = REPO.parent / "shared" / "contract"
# The outside contract lives in the team folder beside the checkout; a copy is kept in the
# repo so that tests run wherever the repo is cloned, and a test checks they agree.
CONTRACT_COPY = REPO / "tests" / "fixtures" / "intake-example.json"


def contract_example() -> dict:
    return json.loads(CONTRACT_COPY.read_text(encoding="utf-8"))


def thai_national_id(rng: random.Random) -> str:
    """A random ID with a correct check digit (first digit 1-8, as real IDs have)."""
    digits = [rng.randint(1, 8)] + [rng.randint(0, 9) for _ in range(11)]
    check = (11 - sum(d * w for d, w in zip(digits, range(13, 1, -1))) % 11) % 10
    return "".join(map(str, digits)) + str(check)


def intake_for(national_id: str, *, needs: list[str] | None = None, subdistrict: str = "640601") -> dict:
    body = copy.deepcopy(contract_example())
    body["person"]["national_id"] = national_id
    body["person"]["address"]["subdistrict_code"] = subdistrict
    if needs is not None:
        body["needs"] = [{"code": code} for code in needs]
    return body


def intake_event(body: dict | None = None, *, intake_id: str = "11111111-2222-3333-4444-555555555555", received_at=None):
    """An IntakeSubmittedV2 built the way the intake service builds it, sealed with the person's test key
    (tests.support.sealing: its key_issued record gives a service the key)."""
    from datetime import UTC, datetime

    from intake.domain import build_intake_event
    from intake.request import IntakeRequest
    from shared import ids
    from tests.support.sealing import person_key

    national_id = body["person"]["national_id"] if body else "3640100456781"
    return build_intake_event(
        request=IntakeRequest.model_validate(body or contract_example()),
        intake_id=intake_id,
        event_id=ids.derived_event_id(source_id=intake_id, purpose="submitted"),
        received_at=received_at or datetime(2026, 11, 2, 2, 30, tzinfo=UTC),
        person_key=person_key(ids.person_ref(national_id=national_id, key="test-key")),
    )


def assigned_events(need: str, count: int) -> list:
    """ReferralAssignedV2 events as routing makes them, one per fresh intake with this one need."""
    import uuid
    from datetime import UTC, datetime

    from routing.domain import route_intake
    from shared.catalog import default_catalog

    rng = random.Random()
    events = []
    for _ in range(count):
        intake = intake_event(intake_for(thai_national_id(rng), needs=[need]), intake_id=str(uuid.uuid4()))
        (routed,) = route_intake(intake=intake, catalog=default_catalog(), routed_at=datetime.now(UTC))
        events.append(routed.event)
    return events
