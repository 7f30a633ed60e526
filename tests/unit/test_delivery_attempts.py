"""One attempt at a delivery: the POST as the receiver gets it (signed over the path it sees, or not
signed when mutual TLS alone proves us), what each answer means, and what the delivery becomes:
delivered, pending a jittered backoff, or parked (refused at once; unreachable after its last
attempt) — with the errors operations read, naming the receiver."""

import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.delivery.attempts import Answer, decide, post
from shared.delivery.resilience import CircuitBreaker
from shared.delivery.signing import NONCE_HEADER, SIGNATURE_HEADER, signature_problem
from shared.delivery.target import HttpTarget

SECRET = "a-secret-of-sixteen-or-more"
TARGET = HttpTarget(url="https://national.example/songtor/feed?v=2", secret=SECRET, timeout_seconds=1,
                    max_attempts=3, backoff_base_seconds=2, backoff_cap_seconds=600)
NOW = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
RETRY = Answer(status_code=503, verdict="retry", error="the national system answered HTTP 503")


def closed_breaker(threshold: int = 5) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=threshold, cooldown_seconds=60)


def after(answer: Answer, *, attempt: int = 1, breaker: CircuitBreaker | None = None, target: HttpTarget = TARGET,
          rng: random.Random | None = None):  # noqa: ANN201
    return decide(answer=answer, attempt=attempt, target=target, breaker=breaker or closed_breaker(),
                  rng=rng or random.Random(1), now=NOW, monotonic=100.0)


@pytest.mark.parametrize("answer, attempt, state, error", [
    (Answer(status_code=204, verdict="delivered", error=None), 1, "delivered", None),
    (RETRY, 1, "pending", "the national system answered HTTP 503"),
    (Answer(status_code=None, verdict="retry", error="no answer within 1 s"), 2, "pending", "no answer within 1 s"),
    (RETRY, 3, "parked", "the national system answered HTTP 503; parked after 3 attempts"),
    (Answer(status_code=422, verdict="refused", error="the national system answered HTTP 422"), 1, "parked",
     "the national system answered HTTP 422; refused, not retried: fix the cause, then re-drive"),
])
def test_what_a_delivery_becomes_after_an_attempt(answer, attempt, state, error):
    outcome = after(answer, attempt=attempt)
    assert (outcome.state, outcome.error) == (state, error)
    assert (outcome.next_attempt_at is not None) == (state == "pending")


@pytest.mark.parametrize("attempt, ceiling", [(1, 2), (2, 4), (5, 32)])
def test_a_retry_waits_a_full_jitter_backoff_that_grows_with_the_attempt(attempt, ceiling):
    target = TARGET.model_copy(update={"max_attempts": 8})
    waits = [after(RETRY, attempt=attempt, target=target, rng=random.Random(seed)).next_attempt_at - NOW
             for seed in range(200)]
    assert all(timedelta(0) <= wait <= timedelta(seconds=ceiling) for wait in waits)
    assert min(waits) < timedelta(seconds=ceiling * 0.1) and max(waits) > timedelta(seconds=ceiling * 0.9)


def test_failures_open_the_receivers_circuit_and_a_refusal_or_a_delivery_close_it():
    breaker = closed_breaker(threshold=2)
    after(RETRY, breaker=breaker)
    after(RETRY, attempt=2, breaker=breaker)
    assert breaker.state == "open" and breaker.opened_at == 100.0
    breaker = closed_breaker(threshold=2)
    after(RETRY, breaker=breaker)
    # A refusal is the receiver up and answering: it does not count towards opening the circuit.
    after(Answer(status_code=400, verdict="refused", error="x"), breaker=breaker)
    assert breaker.consecutive_failures == 0
    after(RETRY, breaker=breaker)
    after(Answer(status_code=200, verdict="delivered", error=None), breaker=breaker)
    assert breaker.state == "closed" and breaker.consecutive_failures == 0


def client_answering(answer) -> tuple[httpx.AsyncClient, list[httpx.Request]]:  # noqa: ANN001
    """A client whose every request gets `answer` (a status code, or an exception to raise)."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer)

    return httpx.AsyncClient(transport=httpx.MockTransport(handle)), seen


async def send(answer, *, target: HttpTarget = TARGET) -> tuple[Answer, list[httpx.Request]]:  # noqa: ANN001
    client, seen = client_answering(answer)
    async with client:
        sent = await post(client=client, target=target, body=b'{"n":1}', headers={"X-Songtor-Event": "feed.record"},
                          receiver="the national system")
    return sent, seen


async def test_the_post_is_signed_over_the_path_and_query_the_receiver_sees():
    answer, (request,) = await send(202)
    assert (answer.status_code, answer.verdict, answer.error) == (202, "delivered", None)
    ours = [name for name in request.headers if name == "content-type" or name.startswith("x-songtor-")]
    assert ours == ["content-type", SIGNATURE_HEADER.lower(), NONCE_HEADER.lower(), "x-songtor-event"]
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert signature_problem(header=request.headers[SIGNATURE_HEADER], nonce=request.headers[NONCE_HEADER],
                             secret=SECRET, method="POST", path="/songtor/feed?v=2", body=request.content,
                             now=datetime.now(UTC).timestamp()) is None


async def test_a_target_proven_by_mutual_tls_alone_sends_no_signature(tmp_path):
    for name in ("client.pem", "client.key"):
        (tmp_path / name).write_text("only their existence is checked here")
    target = HttpTarget(url=str(TARGET.url), signing=False, client_cert_file=tmp_path / "client.pem",
                        client_key_file=tmp_path / "client.key")
    _answer, (request,) = await send(200, target=target)
    assert SIGNATURE_HEADER not in request.headers and NONCE_HEADER not in request.headers


@pytest.mark.parametrize("answer, verdict, error", [
    (503, "retry", "the national system answered HTTP 503"),
    (429, "retry", "the national system answered HTTP 429"),
    (301, "refused", "the national system answered HTTP 301"),
    (httpx.ConnectTimeout("slow"), "retry", "no answer within 1 s"),
    (httpx.ReadTimeout("slow"), "retry", "no answer within 1 s"),
    (httpx.ConnectError("refused"), "retry", "could not reach the national system (ConnectError)"),
    (httpx.RemoteProtocolError("cut"), "retry", "could not reach the national system (RemoteProtocolError)"),
])
async def test_every_failure_is_an_answer_naming_the_receiver(answer, verdict, error):
    sent, _seen = await send(answer)
    assert (sent.verdict, sent.error) == (verdict, error)
    assert sent.status_code == (answer if isinstance(answer, int) else None)
