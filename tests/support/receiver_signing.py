"""What a receiver of Songtor's signed requests checks, written with the standard library only
and from the contract alone (docs/agency-it.md, docs/national-feed.md): the stand-in agency and
national systems of the end-to-end tests share it, as two receivers built by their IT teams would
each build the same thing."""

import hashlib
import hmac
import re
import secrets
import threading
import time

WINDOW = 300  # seconds either side of our clock a signature may be from


class SignedRequests:
    def __init__(self, *, secret: str) -> None:
        self.secret = secret
        self.seen_nonces: dict[str, float] = {}  # nonce -> until when it is remembered
        self.lock = threading.Lock()

    def digest(self, *, timestamp: str, nonce: str, method: str, path: str, body: bytes) -> str:
        message = f"{timestamp}\n{nonce}\n{method}\n{path}\n".encode() + body
        return hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()

    def sign(self, *, method: str, path: str, body: bytes) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), secrets.token_urlsafe(18)
        digest = self.digest(timestamp=timestamp, nonce=nonce, method=method, path=path, body=body)
        return {"X-Songtor-Signature": f"t={timestamp},v2={digest}", "X-Songtor-Nonce": nonce}

    def valid(self, *, header: str, nonce: str, method: str, path: str, body: bytes) -> bool:
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        now = time.time()
        if not parts.get("t", "").isdigit() or abs(now - int(parts["t"])) > WINDOW:
            return False
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,128}", nonce):
            return False
        expected = self.digest(timestamp=parts["t"], nonce=nonce, method=method, path=path, body=body)
        if not hmac.compare_digest(expected, parts.get("v2", "")):
            return False
        with self.lock:  # a nonce seen within the window is a replay
            self.seen_nonces = {n: until for n, until in self.seen_nonces.items() if until > now}
            if nonce in self.seen_nonces:
                return False
            self.seen_nonces[nonce] = int(parts["t"]) + WINDOW + 1
        return True
