"""What the stand-in receivers of the end-to-end tests (an agency's system, the national system)
share, written with the standard library only and from the contract alone (docs/agency-it.md,
docs/national-feed.md), as two receivers built by their IT teams would each build the same: the
check of Songtor's signed requests, a JSON answer, and serving on a port given on the command
line (--port, --secret, --slow)."""

import argparse
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class StandInHandler(BaseHTTPRequestHandler):
    """Quiet (the tests read the stand-in's own log pages instead), answering JSON."""

    def log_message(self, *_args) -> None:
        pass

    def answer(self, status: int, payload: object) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(*, name: str, make: Callable[[str, float], object],
          handler_for: Callable[[object], type[BaseHTTPRequestHandler]]) -> None:
    """Run a stand-in until it is stopped: `make(secret, slow_seconds)` builds its state."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--slow", type=float, default=5.0, help="seconds before answering in timeout mode")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(make(args.secret, args.slow)))
    server.daemon_threads = True
    print(f"{name} on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()
