"""The shared delivery loop driven as a second channel would drive it: its own table with the
delivery columns (SQLite), its own queue and request, its own names in metrics and errors, and
a receiver that answers as told (httpx.MockTransport). Records are delivered once, retried while
the receiver fails, held back while its circuit is open, parked in sight, and re-driven once."""

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlmodel import Field, select

from agency_adapters.webhooks.config import WebhookTarget
from shared.db import create_tables, make_engine, session_factory, stage, stored_utc
from shared.delivery import store
from shared.delivery.loop import DeliveryChannel, DeliveryLoop
from shared.delivery.models import DeliveryColumns
from shared.delivery.queue import Outgoing, TableQueue
from shared.delivery.signing import NONCE_HEADER, SIGNATURE_HEADER, signature_problem
from shared.delivery.target import HttpTarget

SECRET = "the-national-systems-secret"
CHANNEL = DeliveryChannel(name="national feed", receiver="the national system", metric_prefix="unit_feed",
                          link_label="feed", logger_name="songtor.unit.feed", log_key="referral_id")


class FeedRecord(DeliveryColumns, table=True):
    __tablename__ = "unit_feed_deliveries"

    record_id: str = Field(primary_key=True, max_length=36)
    payload: str


@dataclass(frozen=True)
class ClaimedRecord:
    row: FeedRecord

    @property
    def key(self) -> str:
        return self.row.record_id

    @property
    def attempts(self) -> int:
        return self.row.attempts


class FeedQueue(TableQueue):
    """A one-link channel's queue: every row of its table is the national system's."""

    async def claim_due(self, *, link: str, now: datetime, limit: int, lease: timedelta) -> list[ClaimedRecord]:
        async with self.sessions() as session:
            rows = (await session.exec(store.due(select(FeedRecord), table=FeedRecord, now=now, limit=limit))).all()
            claimed = await store.claim(session, table=FeedRecord, deliveries=rows, now=now, lease=lease)
        return [ClaimedRecord(row) for row in rows if row.record_id in claimed]


def compose(item: ClaimedRecord, *, attempt: int, sent_at: datetime) -> Outgoing:
    body = json.dumps({"record": item.row.payload, "attempt": attempt, "sent_at": sent_at.isoformat()})
    return Outgoing(body=body.encode(), headers={"X-Songtor-Event": "feed.record"})


class Receiver:
    """Answers each request with the next of `answers` (a status code or an exception to raise),
    the last one again once they run out."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers, self.requests = list(answers), []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


@pytest.fixture
async def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/feed.db")
    await create_tables(engine, [FeedRecord.__table__])
    yield session_factory(engine)
    await engine.dispose()


def feed_loop(sessions, registry: CollectorRegistry, **settings: object) -> DeliveryLoop:  # noqa: ANN001
    target = HttpTarget(**{"url": "https://national.example/songtor/feed", "secret": SECRET, "max_attempts": 3,
                           "backoff_base_seconds": 0.001, "backoff_cap_seconds": 0.001, "breaker_failures": 100,
                           **settings})
    return DeliveryLoop(channel=CHANNEL, targets={"national": target}, queue=FeedQueue(sessions=sessions,
                        table=FeedRecord), compose=compose, registry=registry)


async def add(sessions, *record_ids: str) -> None:  # noqa: ANN001
    async with sessions() as session:
        for record_id in record_ids:
            stage(session, FeedRecord, {"record_id": record_id, "payload": f"data of {record_id}",
                                        **store.pending_values(at=datetime.now(UTC))})
        await session.commit()


async def rows(sessions) -> dict[str, FeedRecord]:  # noqa: ANN001
    async with sessions() as session:
        return {row.record_id: row for row in (await session.exec(select(FeedRecord))).all()}


async def dispatch(loop: DeliveryLoop, receiver: Receiver, *, times: int = 1) -> list[int]:
    sent = []
    async with receiver.client() as client:
        for _ in range(times):
            sent.append(await loop.dispatch_once(link="national", client=client))
            await asyncio.sleep(0.01)  # past the (1 ms) backoff
    return sent


def attempts_counted(registry: CollectorRegistry, result: str) -> float | None:
    return registry.get_sample_value("unit_feed_attempts_total", {"feed": "national", "result": result})


async def test_due_records_are_posted_signed_once_each_and_marked_delivered(sessions):
    registry, receiver = CollectorRegistry(), Receiver(204)
    loop = feed_loop(sessions, registry)
    await add(sessions, "r-1", "r-2")
    assert await dispatch(loop, receiver, times=2) == [2, 0]
    assert sorted(r.headers["X-Songtor-Delivery"] for r in receiver.requests) == ["r-1", "r-2"]
    for request in receiver.requests:
        assert request.headers["X-Songtor-Attempt"] == "1" and request.headers["X-Songtor-Event"] == "feed.record"
        assert signature_problem(header=request.headers[SIGNATURE_HEADER], nonce=request.headers[NONCE_HEADER],
                                 secret=SECRET, method="POST", path="/songtor/feed", body=request.content,
                                 now=time.time()) is None
    stored = await rows(sessions)
    assert {(row.state, row.attempts, row.lease_until) for row in stored.values()} == {("delivered", 1, None)}
    assert all(row.delivered_at is not None for row in stored.values())
    assert attempts_counted(registry, "delivered") == 2


async def test_a_failing_receiver_gets_retries_then_the_record_is_parked_in_sight(sessions):
    registry, receiver = CollectorRegistry(), Receiver(503, httpx.ConnectError("refused"), 503)
    loop = feed_loop(sessions, registry)
    await add(sessions, "r-1")
    assert await dispatch(loop, receiver, times=4) == [1, 1, 1, 0]
    assert [r.headers["X-Songtor-Attempt"] for r in receiver.requests] == ["1", "2", "3"]
    row = (await rows(sessions))["r-1"]
    assert (row.state, row.attempts, row.last_status_code) == ("parked", 3, 503)
    assert row.last_error == "the national system answered HTTP 503; parked after 3 attempts"
    assert row.parked_at is not None and attempts_counted(registry, "retry") == 3
    await loop.refresh_gauges(link="national")
    assert registry.get_sample_value("unit_feed_deliveries", {"feed": "national", "state": "parked"}) == 1


async def test_an_open_circuit_holds_deliveries_back_without_spending_their_attempts(sessions):
    registry, receiver = CollectorRegistry(), Receiver(503, 503, 204)
    loop = feed_loop(sessions, registry, max_attempts=5, breaker_failures=2, breaker_cooldown_seconds=60)
    await add(sessions, "r-1", "r-2")
    assert await dispatch(loop, receiver, times=3) == [2, 0, 0]
    assert loop.breakers["national"].state == "open" and len(receiver.requests) == 2
    assert registry.get_sample_value("unit_feed_circuit_open", {"feed": "national"}) == 1
    assert {row.attempts for row in (await rows(sessions)).values()} == {1}
    loop.breakers["national"].opened_at = time.monotonic() - 61  # the cooldown has passed
    # One trial goes alone; its success closes the circuit and the rest follow.
    assert await dispatch(loop, receiver, times=2) == [1, 1]
    assert loop.breakers["national"].state == "closed"
    assert {row.state for row in (await rows(sessions)).values()} == {"delivered"}
    assert registry.get_sample_value("unit_feed_circuit_open", {"feed": "national"}) == 0


async def test_a_refused_record_is_parked_at_once_and_re_driven_once_after_the_fix(sessions):
    registry = CollectorRegistry()
    loop = feed_loop(sessions, registry)
    await add(sessions, "r-1")
    await dispatch(loop, Receiver(204))
    await add(sessions, "r-2")
    await dispatch(loop, Receiver(422))
    parked = (await rows(sessions))["r-2"]
    assert (parked.state, parked.attempts) == ("parked", 1)
    assert parked.last_error == ("the national system answered HTTP 422; refused, not retried: "
                                 "fix the cause, then re-drive")
    async with sessions() as session:
        done = await store.redrive_parked(session, table=FeedRecord, narrow=lambda query: query, keys=["r-1", "r-2"],
                                          actor="ops-7", reason="fixed the field mapping", at=datetime.now(UTC))
    assert done == ["r-2"], "a delivered record is never sent again"
    again = (await rows(sessions))["r-2"]
    assert (again.state, again.attempts, again.parked_at, again.redrive_count) == ("pending", 0, None, 1)
    assert (again.last_redrive_by, again.last_redrive_reason) == ("ops-7", "fixed the field mapping")
    receiver = Receiver(204)
    assert await dispatch(loop, receiver, times=2) == [1, 0]
    assert receiver.requests[0].headers["X-Songtor-Attempt"] == "1"
    async with sessions() as session:
        assert await store.counts_by_state(session, table=FeedRecord, narrow=lambda query: query) == {
            "pending": 0, "delivered": 2, "parked": 0}


async def test_two_senders_never_hold_the_same_record_and_a_postponed_one_waits_untried(sessions):
    await add(sessions, "r-1", "r-2")
    now, lease = datetime.now(UTC), timedelta(seconds=40)
    async with sessions() as first, sessions() as second:
        seen_by_first = (await first.exec(store.due(select(FeedRecord), table=FeedRecord, now=now, limit=10))).all()
        seen_by_second = (await second.exec(store.due(select(FeedRecord), table=FeedRecord, now=now, limit=10))).all()
        taken_first = await store.claim(first, table=FeedRecord, deliveries=seen_by_first, now=now, lease=lease)
        taken_second = await store.claim(second, table=FeedRecord, deliveries=seen_by_second, now=now, lease=lease)
        assert (taken_first, taken_second) == ({"r-1", "r-2"}, set())
        await store.postpone(first, table=FeedRecord, keys=["r-1"], until=now + timedelta(seconds=2))
    stored = await rows(sessions)
    assert stored["r-1"].lease_until is None and stored["r-1"].attempts == 0
    assert stored_utc(stored["r-1"].next_attempt_at) == now + timedelta(seconds=2)
    async with sessions() as session:
        later = now + timedelta(seconds=3)
        due = (await session.exec(store.due(select(FeedRecord), table=FeedRecord, now=later, limit=10))).all()
    assert [row.record_id for row in due] == ["r-1"], "r-2 is still held by its sender"


def test_a_link_without_a_url_cannot_be_delivered_to(sessions):
    with pytest.raises(ValueError, match="without a url"):
        DeliveryLoop(channel=CHANNEL, targets={"skills": WebhookTarget(secret=SECRET)}, compose=compose,
                     queue=FeedQueue(sessions=sessions, table=FeedRecord), registry=CollectorRegistry())
