"""Signatures on deliveries and callbacks: authentic and fresh passes; anything else says why.
The signature covers the method, the path (so the referral id) and a nonce besides the body."""

import hashlib
import hmac

import pytest

from shared.delivery.signing import new_nonce, nonce_expiry, signature, signature_problem, signed_at

SECRET = "a-shared-secret-of-the-agency"
BODY = '{"status":"accepted","note":"รับเรื่องแล้ว"}'.encode()
NOW = 1_790_000_000
NONCE = "n0nce-of-the-agency-system"
PATH = "/v1/agency-systems/skills/referrals/5b7c0c7e-0000-4000-8000-000000000001/status"
OTHER_PATH = "/v1/agency-systems/skills/referrals/5b7c0c7e-0000-4000-8000-000000000002/status"


def sign(**changes) -> str:  # noqa: ANN003
    request = {"secret": SECRET, "timestamp": NOW, "nonce": NONCE, "method": "POST", "path": PATH, "body": BODY}
    return signature(**{**request, **changes})


def problem(header: str | None, **changes) -> str | None:  # noqa: ANN003
    request = {"nonce": NONCE, "secret": SECRET, "method": "POST", "path": PATH, "body": BODY, "now": NOW + 10}
    return signature_problem(header=header, **{**request, **changes})


def test_the_signature_is_hmac_sha256_of_timestamp_nonce_method_path_and_body_as_documented():
    message = f"{NOW}\n{NONCE}\nPOST\n{PATH}\n".encode() + BODY
    expected = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    assert sign() == f"t={NOW},v2={expected}"
    assert signed_at(sign()) == NOW


def test_an_authentic_fresh_request_passes():
    assert problem(sign()) is None


def test_a_changed_body_is_refused():
    found = problem(sign(), body=BODY.replace(b"accepted", b"completed"))
    assert found and "does not match" in found


def test_a_captured_callback_does_not_verify_on_another_referral():
    found = problem(sign(), path=OTHER_PATH)
    assert found and "does not match" in found


@pytest.mark.parametrize("changes", [{"nonce": "another-nonce-0000000"}, {"method": "PUT"}])
def test_the_nonce_and_the_method_are_signed_too(changes):
    assert problem(sign(), **changes) is not None


def test_another_agencys_secret_is_refused():
    assert problem(sign(secret="the-secret-of-another-agency")) is not None


def test_a_replayed_old_request_is_refused_and_the_answer_names_the_clock():
    found = problem(sign(), now=NOW + 301)
    assert found and "clock" in found
    assert problem(sign(), now=NOW - 301) is not None


def test_a_missing_or_malformed_header_says_what_is_expected():
    assert "missing" in problem(None)
    for bad in ("v2=abc", f"t={NOW}", "t=yesterday,v2=abc", "garbage"):
        found = problem(bad)
        assert found and "t=<unix seconds>,v2=" in found, bad


def test_an_old_v1_signature_is_told_what_changed():
    found = problem(f"t={NOW},v1=abc")
    assert found and "no longer accepted" in found and "X-Songtor-Nonce" in found


@pytest.mark.parametrize("nonce", [None, "", "short", "has space in it ....", "x" * 129, "nönce-with-accents-0000"])
def test_a_missing_or_malformed_nonce_is_refused(nonce):
    found = problem(sign(nonce=nonce or NONCE), nonce=nonce)
    assert found and "X-Songtor-Nonce" in found


def test_fresh_nonces_are_unique_and_well_formed_and_kept_for_the_whole_window():
    nonces = {new_nonce() for _ in range(1000)}
    assert len(nonces) == 1000
    assert problem(sign(nonce=next(iter(nonces))), nonce=next(iter(nonces))) is None
    # A signature from the future is good until t + 300: its nonce must be remembered that long.
    assert nonce_expiry(timestamp=NOW) > NOW + 300
