"""The words staff type with a move (reason, note) may name the person: on `referral.updated` they
travel sealed with the person's key, and after the person's erasure they are kept nowhere."""

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from agency_adapters import repository
from agency_adapters.handlers import erase_person
from agency_adapters.lifecycle import Move
from agency_adapters.models import TABLES as AGENCY_TABLES
from agency_adapters.models import ReferralMove
from agency_adapters.workflow import ERASED_WORDS, Workbench, move_referral
from shared.catalog.outcomes import default_outcomes
from shared.contracts import ReferralUpdatedV2
from shared.db import create_tables, make_engine, session_factory
from shared.db.outbox import OutboxMessage
from shared.privacy.sealing import MOVE_NOTE, MOVE_REASON
from shared.topics import Topics
from tests.support.examples import assigned_events
from tests.support.sealing import MASTER_KEYS, identities, key_row
from tests.support.relays import RelayLeftForLater

NAMED = "คุณสมชาย ใจดี ขอย้ายไปพัฒนาฝีมือแรงงาน"
TOPICS = Topics(prefix="")


@pytest.fixture
async def bench(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/agency.db")
    await create_tables(engine, AGENCY_TABLES)
    yield Workbench(sessions=session_factory(engine), relay=RelayLeftForLater(), topics=TOPICS,
                    outcomes=default_outcomes(), master_keys=MASTER_KEYS)
    await engine.dispose()


async def received(bench: Workbench, *, with_key: bool):  # noqa: ANN201
    (event,) = assigned_events("job_registration", 1)
    async with bench.sessions() as session:
        repository.add_received(session, event=event, received_at=datetime.now(UTC))
        if with_key:  # the person's key copy, read from person.keys
            session.add(key_row(event.person_ref))
        await session.commit()
    return event


async def updated_rows(bench: Workbench) -> list[OutboxMessage]:
    async with bench.sessions() as session:
        return list((await session.exec(select(OutboxMessage).where(
            OutboxMessage.topic == TOPICS.referral_updated))).all())


async def moves_of(bench: Workbench, referral_id: str) -> list[ReferralMove]:
    async with bench.sessions() as session:
        return list((await session.exec(select(ReferralMove).where(ReferralMove.referral_id == referral_id)
                                        .order_by(ReferralMove.version))).all())


def cancel(note: str | None = None) -> Move:
    return Move(status="cancelled", actor="office-64", reason=NAMED, note=note)


async def test_a_move_s_reason_and_note_travel_sealed_for_their_own_field(bench):
    event = await received(bench, with_key=True)
    answer = await move_referral(bench, referral_id=event.referral_id, move=cancel(note="โทร 0812345678 แล้ว"),
                                 gate=lambda _: None)
    assert answer.status_code == 200, answer.body

    (row,) = await updated_rows(bench)
    assert NAMED not in row.payload and "0812345678" not in row.payload
    updated = ReferralUpdatedV2.model_validate_json(row.payload)
    assert updated.person_ref == event.person_ref
    opener = identities()
    assert opener.text(updated.reason, person_ref=event.person_ref, field=MOVE_REASON) == NAMED
    assert opener.text(updated.note, person_ref=event.person_ref, field=MOVE_NOTE) == "โทร 0812345678 แล้ว"
    # Bound to its field: the reason does not open as the note.
    assert opener.text(updated.reason, person_ref=event.person_ref, field=MOVE_NOTE) is None


async def test_a_move_without_words_needs_no_key(bench):
    event = await received(bench, with_key=False)
    answer = await move_referral(bench, referral_id=event.referral_id, move=Move(status="accepted", actor="officer-1"),
                                 gate=lambda _: None)
    assert answer.status_code == 200, answer.body
    (row,) = await updated_rows(bench)
    updated = ReferralUpdatedV2.model_validate_json(row.payload)
    assert (updated.status, updated.reason, updated.note) == ("accepted", None, None)


async def test_words_for_a_person_whose_key_has_not_arrived_are_refused_and_nothing_moves(bench):
    event = await received(bench, with_key=False)
    answer = await move_referral(bench, referral_id=event.referral_id, move=cancel(), gate=lambda _: None)

    assert answer.status_code == 409 and "try again in a minute" in answer.body["detail"]
    assert await updated_rows(bench) == []
    async with bench.sessions() as session:
        assert (await repository.get_referral(session, referral_id=event.referral_id)).status == "received"


async def test_after_the_person_s_erasure_a_move_is_kept_without_its_words(bench):
    event = await received(bench, with_key=True)
    async with bench.sessions() as session:
        await erase_person(session, event.person_ref)
        await session.commit()

    answer = await move_referral(bench, referral_id=event.referral_id, move=cancel(note="ชื่อเล่น ต้น"),
                                 gate=lambda _: None)

    assert answer.status_code == 200, answer.body
    assert answer.body["words_not_kept"] == ERASED_WORDS
    (row,) = await updated_rows(bench)
    updated = ReferralUpdatedV2.model_validate_json(row.payload)
    assert (updated.status, updated.reason, updated.note) == ("cancelled", None, None)
    assert NAMED not in row.payload and "ต้น" not in row.payload
    last = (await moves_of(bench, event.referral_id))[-1]
    assert (last.status, last.reason, last.note) == ("cancelled", None, None)
