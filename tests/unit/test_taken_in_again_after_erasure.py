"""A person erased and taken in again within the day: the erasure's second tombstone, held back
for a day so that a quiet partition of person.keys is compacted, must not hold their new key back
behind it (rows of one key are sent in order) while the intake it seals goes out at once."""

import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlmodel import col, select

from intake.api import intake_router
from intake.erasure_api import erasure_router
from intake.group_commit import GroupCommitter
from intake.bulk.models import TABLES as BULK_TABLES
from intake.models import TABLES
from intake.submission import IntakeDesk
from shared.auth import AuthContext, caller
from shared.auth.guard import install
from shared.catalog import default_catalog
from shared.contracts import PersonKeyIssuedV1
from shared.db import create_tables, make_engine, session_factory
from shared.db.outbox import TOMBSTONE, OutboxMessage
from shared.topics import Topics
from tests.support.examples import intake_for, thai_national_id
from tests.support.sealing import MASTER_KEYS
from tests.support.tokens import LocalIssuer
from tests.support.relays import RelayLeftForLater

ISSUER = LocalIssuer()
CLERK = ISSUER.headers("intake_clerk", subject="clerk-6406", org_units=("6406",))
OFFICE = ISSUER.headers("provincial_office", subject="office-64", provinces=("64",))
TOPICS = Topics(prefix="")
A_DAY = timedelta(days=1)


@pytest.fixture
async def intake(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/intake.db")
    await create_tables(engine, [*TABLES, *BULK_TABLES])
    desk = IntakeDesk(catalog=default_catalog(), sessions=session_factory(engine), relay=RelayLeftForLater(),
                      topics=TOPICS, person_ref_key="test-key", master_keys=MASTER_KEYS)
    app = FastAPI()
    app.include_router(intake_router(desk=desk, committer=GroupCommitter(desk=desk)), dependencies=[Depends(caller)])
    app.include_router(erasure_router(desk=desk, compaction=A_DAY), dependencies=[Depends(caller)])
    install(app, context=AuthContext(service="intake", verifier=ISSUER.verifier))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        yield desk, client
    await engine.dispose()


async def key_rows(desk: IntakeDesk) -> list[OutboxMessage]:
    """person.keys rows not sent yet, in the order the relay sends them."""
    async with desk.sessions() as session:
        return list((await session.exec(select(OutboxMessage).where(
            OutboxMessage.topic == TOPICS.person_keys, col(OutboxMessage.published_at).is_(None))
            .order_by(col(OutboxMessage.id)))).all())


async def test_a_person_taken_in_again_gets_a_key_sent_at_once_and_the_held_write_still_follows(intake):
    desk, client = intake
    body = intake_for(thai_national_id(random.Random(31)))
    assert (await client.post("/v1/intakes", json=body, headers=CLERK)).status_code == 202
    first_key = PersonKeyIssuedV1.model_validate_json((await key_rows(desk))[0].payload)
    asked = await client.post("/v1/erasures", headers=OFFICE,
                              json={"national_id": body["person"]["national_id"], "reason": "PDPA s.33 request 7"})
    assert asked.status_code == 202, asked.text
    tombstone, held = await key_rows(desk)
    assert (tombstone.payload, tombstone.next_attempt_at) == (TOMBSTONE, None)
    assert held.payload == TOMBSTONE and held.next_attempt_at is not None
    held_until = held.next_attempt_at

    again = await client.post("/v1/intakes", json=body, headers=CLERK)
    assert again.status_code == 202, again.text

    rows = await key_rows(desk)
    assert [row.key for row in rows] == [first_key.person_ref] * 3
    assert rows[0].payload == TOMBSTONE, "the erasure's tombstone goes first"
    now_row, later_row = rows[1], rows[2]
    new_key = PersonKeyIssuedV1.model_validate_json(now_row.payload)
    assert new_key.key_id != first_key.key_id
    # Sent with the intake it seals, not a day later ...
    assert now_row.next_attempt_at is None and now_row.id < later_row.id
    # ... and the held-back write that rolls the quiet partition's segment is the same new key,
    # so compaction drops the old one and never the new one.
    assert later_row.payload == now_row.payload
    assert later_row.next_attempt_at == held_until
    assert held_until.replace(tzinfo=UTC) > datetime.now(UTC) + timedelta(hours=23)


async def test_a_person_with_a_key_or_never_erased_leaves_the_outbox_as_it_was(intake):
    desk, client = intake
    body = intake_for(thai_national_id(random.Random(32)))
    for _ in range(2):
        assert (await client.post("/v1/intakes", json=body, headers=CLERK)).status_code == 202
    (only,) = await key_rows(desk)
    assert only.payload != TOMBSTONE and only.next_attempt_at is None
