"""Signatures on deliveries and callbacks: authentic and fresh passes; anything else says why."""

import hashlib
import hmac

from agency_adapters.webhooks.signing import signature, signature_problem

SECRET = "a-shared-secret-of-the-agency"
BODY = '{"status":"accepted","note":"รับเรื่องแล้ว"}'.encode()
NOW = 1_790_000_000


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body_as_documented():
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature(secret=SECRET, timestamp=NOW, body=BODY) == f"t={NOW},v1={expected}"


def test_an_authentic_fresh_request_passes():
    header = signature(secret=SECRET, timestamp=NOW, body=BODY)
    assert signature_problem(header=header, secret=SECRET, body=BODY, now=NOW + 10) is None


def test_a_changed_body_is_refused():
    header = signature(secret=SECRET, timestamp=NOW, body=BODY)
    problem = signature_problem(header=header, secret=SECRET, body=BODY.replace(b"accepted", b"completed"), now=NOW)
    assert problem and "does not match" in problem


def test_another_agencys_secret_is_refused():
    header = signature(secret="the-secret-of-another-agency", timestamp=NOW, body=BODY)
    assert signature_problem(header=header, secret=SECRET, body=BODY, now=NOW) is not None


def test_a_replayed_old_request_is_refused_and_the_answer_names_the_clock():
    header = signature(secret=SECRET, timestamp=NOW, body=BODY)
    problem = signature_problem(header=header, secret=SECRET, body=BODY, now=NOW + 301)
    assert problem and "clock" in problem
    assert signature_problem(header=header, secret=SECRET, body=BODY, now=NOW - 301) is not None


def test_a_missing_or_malformed_header_says_what_is_expected():
    assert "missing" in signature_problem(header=None, secret=SECRET, body=BODY, now=NOW)
    for bad in ("v1=abc", f"t={NOW}", "t=yesterday,v1=abc", "garbage"):
        problem = signature_problem(header=bad, secret=SECRET, body=BODY, now=NOW)
        assert problem and "t=<unix seconds>,v1=" in problem, bad
