"""HMAC-SHA256 signatures on HTTPS deliveries and on agency callbacks. Pure: no I/O.

Two headers, the same both ways:

    X-Songtor-Signature: t=<unix seconds>,v2=<hex digest>
    X-Songtor-Nonce: <16 to 128 of A-Z a-z 0-9 _ ->, new for every request>

The digest covers the timestamp, the nonce, the method and the path, one per line, then the
exact body bytes: "<t>\\n<nonce>\\n<METHOD>\\n<path>\\n" + body. The path holds the referral id,
so a callback captured for one referral does not verify on another; the timestamp bounds the
window in which it could be replayed as it is, and within that window the receiver refuses a
nonce it has already seen (the caller keeps those: this module has no memory). A receiver can
check all of it before parsing the JSON. Newlines separate the parts because none of them can
contain one, so no two different requests sign the same bytes."""

import hashlib
import hmac
import re
import secrets

SIGNATURE_HEADER = "X-Songtor-Signature"
NONCE_HEADER = "X-Songtor-Nonce"
DEFAULT_TOLERANCE_SECONDS = 300
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_FORMAT = "t=<unix seconds>,v2=<hex HMAC-SHA256>"


def new_nonce() -> str:
    return secrets.token_urlsafe(18)  # 24 characters, 144 random bits


def signed_bytes(*, timestamp: int, nonce: str, method: str, path: str, body: bytes) -> bytes:
    return f"{timestamp}\n{nonce}\n{method.upper()}\n{path}\n".encode() + body


def signature(*, secret: str, timestamp: int, nonce: str, method: str, path: str, body: bytes) -> str:
    message = signed_bytes(timestamp=timestamp, nonce=nonce, method=method, path=path, body=body)
    return f"t={timestamp},v2={hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()}"


def _parts(header: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in header.split(",") if "=" in part)


def signed_at(header: str) -> int:
    """The timestamp of a header signature_problem has accepted."""
    return int(_parts(header)["t"])


def signature_problem(
    *, header: str | None, nonce: str | None, secret: str, method: str, path: str, body: bytes, now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> str | None:
    """Why a signed request must be refused, or None when it is authentic and fresh. Whether its
    nonce was seen before is the caller's to check, after this says the request is authentic."""
    if not header:
        return f"missing {SIGNATURE_HEADER} header"
    parts = _parts(header)
    timestamp, given = parts.get("t", ""), parts.get("v2", "")
    if "v1" in parts and not given:
        return (f"v1 signatures (over '<t>.<body>') are no longer accepted: send {SIGNATURE_HEADER}: {_FORMAT} "
                f"over '<t>\\n<nonce>\\n<METHOD>\\n<path>\\n<body>' and the nonce in {NONCE_HEADER}")
    if not timestamp.isdigit() or not given:
        return f"{SIGNATURE_HEADER} must look like {_FORMAT}"
    if not nonce or not _NONCE.fullmatch(nonce):
        return f"{NONCE_HEADER} must be a fresh 16 to 128 characters of A-Z, a-z, 0-9, '_' or '-'"
    if abs(now - int(timestamp)) > tolerance_seconds:
        return f"timestamp {timestamp} is more than {tolerance_seconds} s away from now; check the clock and sign again"
    expected = signature(secret=secret, timestamp=int(timestamp), nonce=nonce, method=method, path=path,
                         body=body).split("v2=", 1)[1]
    if not hmac.compare_digest(expected, given):
        return ("signature does not match the request; sign '<t>\\n<nonce>\\n<METHOD>\\n<path>\\n<body>' "
                "with the agency's secret, the path being the one you call")
    return None


def nonce_expiry(*, timestamp: int, tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS) -> int:
    """Until when (unix seconds) a nonce must be remembered: past it, the timestamp is refused."""
    return timestamp + tolerance_seconds + 1
