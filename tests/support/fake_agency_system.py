"""A stand-in for an agency's back-office system, run as its own process in the end-to-end
tests. Written with the standard library only and from the README's contract alone (it does not
import Songtor), so it shows what an agency's IT team has to build.

    python -m tests.support.fake_agency_system --port 9000 --secret S

Its behaviour is switched at run time by POST /_mode {"mode": ok|fail|timeout|refuse,
"auto_accept": bool}: answer 200, answer 503, answer only after --slow seconds, answer 400.
GET /_log lists every delivery it saw and whether its signature was valid."""

import argparse
import hashlib
import hmac
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeAgencySystem:
    def __init__(self, *, secret: str, slow_seconds: float) -> None:
        self.secret, self.slow_seconds = secret, slow_seconds
        self.mode, self.auto_accept = "ok", False
        self.log: list[dict] = []
        self.lock = threading.Lock()

    def signed(self, body: bytes) -> str:
        timestamp = int(time.time())
        digest = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={digest}"

    def signature_valid(self, header: str, body: bytes) -> bool:
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        if not parts.get("t", "").isdigit() or abs(time.time() - int(parts["t"])) > 300:
            return False
        expected = hmac.new(self.secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts.get("v1", ""))

    def accept_later(self, callback_url: str) -> None:
        body = json.dumps({"status": "accepted", "note": "รับเรื่องในระบบของหน่วยงานแล้ว"}).encode()
        request = urllib.request.Request(callback_url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Songtor-Signature": self.signed(body)})
        with urllib.request.urlopen(request, timeout=10) as response:
            with self.lock:
                self.log.append({"callback": callback_url, "status": response.status})


def handler_for(system: FakeAgencySystem) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args) -> None:  # quiet: the test reads /_log instead
            pass

        def answer(self, status: int, payload: object) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            with system.lock:
                self.answer(200, {"mode": system.mode, "log": system.log})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/_mode":
                wanted = json.loads(body)
                system.mode, system.auto_accept = wanted["mode"], wanted.get("auto_accept", False)
                return self.answer(200, {"mode": system.mode})
            entry = {
                "delivery": self.headers.get("X-Songtor-Delivery"),
                "attempt": self.headers.get("X-Songtor-Attempt"),
                "signature_valid": system.signature_valid(self.headers.get("X-Songtor-Signature", ""), body),
                "mode": system.mode,
                "at": time.time(),
                "payload": json.loads(body),
            }
            with system.lock:
                system.log.append(entry)
            if not entry["signature_valid"]:
                return self.answer(401, {"error": "bad signature"})
            if system.mode == "timeout":
                time.sleep(system.slow_seconds)
            if system.mode == "fail":
                return self.answer(503, {"error": "maintenance"})
            if system.mode == "refuse":
                return self.answer(400, {"error": "unknown need code"})
            self.answer(200, {"received": entry["delivery"]})
            if system.mode == "ok" and system.auto_accept:
                threading.Thread(target=system.accept_later, args=(entry["payload"]["callback_url"],)).start()

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--slow", type=float, default=5.0, help="seconds before answering in timeout mode")
    args = parser.parse_args()
    system = FakeAgencySystem(secret=args.secret, slow_seconds=args.slow)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(system))
    server.daemon_threads = True
    print(f"fake agency system on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
