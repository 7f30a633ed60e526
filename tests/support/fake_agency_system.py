"""A stand-in for an agency's back-office system, run as its own process in the end-to-end
tests. Written with the standard library only and from the contract in docs/agency-it.md alone (it does not
import Songtor), so it shows what an agency's IT team has to build.

    python -m tests.support.fake_agency_system --port 9000 --secret S

Its behaviour is switched at run time by POST /_mode {"mode": ok|fail|timeout|refuse,
"auto_accept": bool}: answer 200, answer 503, answer only after --slow seconds, answer 400.
GET /_log lists every delivery it saw and whether its signature was valid. GET /_callbacks lists
the callbacks it sent, each with its exact bytes and headers, as someone on the wire would have
captured them (the tests replay them)."""

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler

from tests.support.stand_in_receivers import SignedRequests, StandInHandler, serve


class FakeAgencySystem:
    def __init__(self, *, secret: str, slow_seconds: float) -> None:
        self.signing, self.slow_seconds = SignedRequests(secret=secret), slow_seconds
        self.mode, self.auto_accept = "ok", False
        self.log: list[dict] = []
        self.callbacks: list[dict] = []
        self.lock = threading.Lock()

    def accept_later(self, callback_url: str) -> None:
        body = json.dumps({"status": "accepted", "note": "รับเรื่องในระบบของหน่วยงานแล้ว"}).encode()
        headers = {"Content-Type": "application/json",
                   **self.signing.sign(method="POST", path=urllib.parse.urlsplit(callback_url).path, body=body)}
        request = urllib.request.Request(callback_url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        with self.lock:
            self.log.append({"callback": callback_url, "status": status})
            self.callbacks.append({"url": callback_url, "headers": headers, "body": body.decode(), "status": status})


def handler_for(system: FakeAgencySystem) -> type[BaseHTTPRequestHandler]:
    class Handler(StandInHandler):
        def do_GET(self) -> None:
            with system.lock:
                if self.path == "/_callbacks":
                    return self.answer(200, {"callbacks": system.callbacks})
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
                "signature_valid": system.signing.valid(
                    header=self.headers.get("X-Songtor-Signature", ""), nonce=self.headers.get("X-Songtor-Nonce", ""),
                    method="POST", path=self.path, body=body),
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
    serve(name="fake agency system", make=lambda secret, slow: FakeAgencySystem(secret=secret, slow_seconds=slow), handler_for=handler_for)


if __name__ == "__main__":
    main()
