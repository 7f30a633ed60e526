"""The agency webhooks on the shared delivery loop send what they always sent: the same headers in
the same order, signed over the agency URL's path, the documented body, the same errors and
metrics; a delivery whose person's key has not arrived waits untried; a head re-drives only the
parked deliveries of the provinces they see."""

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry

from agency_adapters import repository
from agency_adapters.models import TABLES as AGENCY_TABLES, AgencyReferral
from agency_adapters.webhooks import store
from agency_adapters.webhooks.config import WebhookTarget
from agency_adapters.webhooks.dispatcher import WebhookDispatcher, delivery_body
from agency_adapters.webhooks.models import WebhookDelivery
from shared.db import create_tables, make_engine, session_factory, stored_utc
from shared.delivery.signing import NONCE_HEADER, SIGNATURE_HEADER, signature_problem
from shared.privacy import identities_of
from tests.support.examples import assigned_events
from tests.support.sealing import MASTER_KEYS, key_row

SECRET, PUBLIC_URL = "skills-dept-shared-secret-0001", "https://songtor.example"


@pytest.fixture
async def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/agency.db")
    await create_tables(engine, AGENCY_TABLES)
    yield session_factory(engine)
    await engine.dispose()


async def received(sessions, *, key_arrived: bool = True):  # noqa: ANN001, ANN201
    """A referral received and its delivery pending, as the agency's consumer leaves them."""
    (event,) = assigned_events("job_registration", 1)
    now = datetime.now(UTC)
    async with sessions() as session:
        repository.add_received(session, event=event, received_at=now)
        if key_arrived:
            session.add(key_row(event.person_ref))  # the person's key copy, read from person.keys
        store.add_pending(session, referral_id=event.referral_id, agency=event.agency, at=now)
        await session.commit()
    return event


def dispatcher_for(sessions, agency: str, registry: CollectorRegistry,  # noqa: ANN001
                   **settings: object) -> WebhookDispatcher:
    target = WebhookTarget(url="https://dsd.example/songtor/referrals", secret=SECRET, **settings)
    return WebhookDispatcher(sessions=sessions, targets={agency: target}, public_url=PUBLIC_URL,
                             master_keys=MASTER_KEYS, registry=registry)


async def dispatch(dispatcher: WebhookDispatcher, agency: str, answer: int) -> tuple[int, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(answer)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        return await dispatcher.dispatch_once(link=agency, client=client), seen


async def delivery(sessions, referral_id: str) -> WebhookDelivery:  # noqa: ANN001
    async with sessions() as session:
        return await session.get(WebhookDelivery, referral_id)


async def test_a_referral_goes_out_with_the_documented_headers_and_body(sessions):
    event, registry = await received(sessions), CollectorRegistry()
    sent, (request,) = await dispatch(dispatcher_for(sessions, event.agency, registry), event.agency, 202)
    assert sent == 1 and request.url == "https://dsd.example/songtor/referrals"
    ours = [name for name in request.headers if name == "content-type" or name.startswith("x-songtor-")]
    assert ours == ["content-type", "x-songtor-signature", "x-songtor-nonce", "x-songtor-delivery",
                    "x-songtor-attempt", "x-songtor-event"]
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert (request.headers["X-Songtor-Delivery"], request.headers["X-Songtor-Attempt"],
            request.headers["X-Songtor-Event"]) == (event.referral_id, "1", "referral.assigned")
    assert signature_problem(header=request.headers[SIGNATURE_HEADER], nonce=request.headers[NONCE_HEADER],
                             secret=SECRET, method="POST", path="/songtor/referrals", body=request.content,
                             now=time.time()) is None
    sent_at = datetime.fromisoformat(json.loads(request.content)["sent_at"])
    async with sessions() as session:
        referral = await session.get(AgencyReferral, event.referral_id)
        identities = await identities_of(session, wrapper=MASTER_KEYS, person_refs=[event.person_ref])
    assert request.content == delivery_body(referral=referral, identities=identities, attempt=1, sent_at=sent_at,
                                            public_url=PUBLIC_URL)
    person = json.loads(request.content)["referral"]["person"]
    assert person["erased"] is False and person["national_id"], "opened with the person's key for the body"
    assert (await delivery(sessions, event.referral_id)).state == "delivered"
    assert registry.get_sample_value("songtor_webhook_attempts_total",
                                     {"agency": event.agency, "result": "delivered"}) == 1


async def test_a_delivery_whose_persons_key_has_not_arrived_waits_untried(sessions):
    event = await received(sessions, key_arrived=False)
    before = datetime.now(UTC)
    sent, seen = await dispatch(dispatcher_for(sessions, event.agency, CollectorRegistry()), event.agency, 202)
    assert (sent, seen) == (0, [])
    waiting = await delivery(sessions, event.referral_id)
    assert (waiting.state, waiting.attempts, waiting.lease_until) == ("pending", 0, None)
    assert stored_utc(waiting.next_attempt_at) >= before + timedelta(seconds=2)


async def test_failures_read_as_before_and_a_head_re_drives_only_their_provinces(sessions):
    event, registry = await received(sessions), CollectorRegistry()
    await dispatch(dispatcher_for(sessions, event.agency, registry, max_attempts=1), event.agency, 503)
    parked = await delivery(sessions, event.referral_id)
    assert (parked.state, parked.last_status_code) == ("parked", 503)
    assert parked.last_error == "the agency system answered HTTP 503; parked after 1 attempts"
    assert registry.get_sample_value("songtor_webhook_attempts_total", {"agency": event.agency, "result": "retry"}) == 1
    async with sessions() as session:
        province = (await session.get(AgencyReferral, event.referral_id)).province_code
        elsewhere = frozenset({"10" if province != "10" else "11"})
        assert await store.counts_by_state(session, agency=event.agency, provinces=elsewhere) == {
            "pending": 0, "delivered": 0, "parked": 0}
        assert await store.counts_by_state(session, agency=event.agency) == {"pending": 0, "delivered": 0, "parked": 1}
        assert await store.redrive_parked(session, agency=event.agency, provinces=elsewhere, referral_ids=None,
                                          actor="head-1", reason="fixed their server", at=datetime.now(UTC)) == []
        assert await store.redrive_parked(session, agency="another", provinces=None, referral_ids=None,
                                          actor="head-1", reason="fixed their server", at=datetime.now(UTC)) == []
        assert await store.redrive_parked(session, agency=event.agency, provinces=frozenset({province}),
                                          referral_ids=None, actor="head-1", reason="fixed their server",
                                          at=datetime.now(UTC)) == [event.referral_id]
    again = await delivery(sessions, event.referral_id)
    assert (again.state, again.attempts, again.redrive_count, again.last_redrive_by) == ("pending", 0, 1, "head-1")
