"""HMAC-SHA256 signatures on webhook deliveries and on agency callbacks. Pure: no I/O.

The header is `X-Songtor-Signature: t=<unix seconds>,v1=<hex digest>` and the digest covers
`<t>.` followed by the exact body bytes, so a receiver can check it before parsing the JSON and
a captured request cannot be replayed outside the tolerance window."""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Songtor-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_problem(
    *, header: str | None, secret: str, body: bytes, now: float, tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS
) -> str | None:
    """Why a signed request must be refused, or None when it is authentic and fresh."""
    if not header:
        return f"missing {SIGNATURE_HEADER} header"
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, given = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or not given:
        return f"{SIGNATURE_HEADER} must look like t=<unix seconds>,v1=<hex HMAC-SHA256>"
    if abs(now - int(timestamp)) > tolerance_seconds:
        return f"timestamp {timestamp} is more than {tolerance_seconds} s away from now; check the clock and sign again"
    expected = signature(secret=secret, timestamp=int(timestamp), body=body).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, given):
        return "signature does not match the body; sign '<t>.<body>' with the agency's secret"
    return None
