"""Retry timing, response verdicts and the circuit breaker of HTTPS deliveries (shared.delivery)."""

import random

import pytest

from shared.delivery.resilience import CircuitBreaker, backoff_delay, verdict_for_status


@pytest.mark.parametrize("attempt, ceiling", [(1, 2.0), (2, 4.0), (3, 8.0), (6, 64.0), (9, 300.0), (30, 300.0)])
def test_backoff_grows_exponentially_up_to_the_cap_with_full_jitter(attempt, ceiling):
    rng = random.Random(7)
    delays = [backoff_delay(attempt=attempt, base_seconds=2.0, cap_seconds=300.0, rng=rng) for _ in range(500)]
    assert all(0 <= d <= ceiling for d in delays)
    # Full jitter: spread over the whole window, not bunched at its top.
    assert min(delays) < ceiling * 0.1 and max(delays) > ceiling * 0.9


@pytest.mark.parametrize("status, verdict", [
    (200, "delivered"), (202, "delivered"), (204, "delivered"),
    (500, "retry"), (502, "retry"), (503, "retry"), (408, "retry"), (429, "retry"), (425, "retry"),
    (400, "refused"), (401, "refused"), (404, "refused"), (422, "refused"), (301, "refused"),
])
def test_what_each_answer_means(status, verdict):
    assert verdict_for_status(status) == verdict


def test_the_circuit_opens_after_the_threshold_and_lets_no_call_through_while_cooling_down():
    breaker = CircuitBreaker(failure_threshold=3, cooldown_seconds=60)
    for t in (0, 1):
        assert breaker.allow(now=t)
        breaker.record_failure(now=t)
    assert breaker.state == "closed"
    breaker.record_failure(now=2)
    assert breaker.state == "open"
    assert not breaker.allow(now=3) and not breaker.allow(now=61.9)
    assert breaker.seconds_until_trial(now=32) == pytest.approx(30)


def test_after_the_cooldown_one_trial_goes_through_and_its_success_closes_the_circuit():
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=10)
    breaker.record_failure(now=0)
    assert breaker.allow(now=10)
    assert breaker.state == "half_open"
    assert not breaker.allow(now=10.5), "only one trial at a time"
    breaker.record_success()
    assert breaker.state == "closed" and breaker.consecutive_failures == 0
    assert breaker.allow(now=11) and breaker.allow(now=11)


def test_a_failed_trial_reopens_the_circuit_for_a_whole_new_cooldown():
    breaker = CircuitBreaker(failure_threshold=5, cooldown_seconds=10)
    for t in range(5):
        breaker.record_failure(now=t)
    assert breaker.allow(now=15)
    breaker.record_failure(now=15)
    assert breaker.state == "open"
    assert not breaker.allow(now=24) and breaker.allow(now=25)


def test_a_success_resets_the_count_of_failures_in_a_row():
    breaker = CircuitBreaker(failure_threshold=3, cooldown_seconds=10)
    breaker.record_failure(now=0)
    breaker.record_failure(now=1)
    breaker.record_success()
    breaker.record_failure(now=2)
    breaker.record_failure(now=3)
    assert breaker.state == "closed"
