"""A stand-in for the national treatment-and-rehabilitation system's receiver (บสต.), run as its
own process in the end-to-end tests. Standard library only, from the contract alone
(docs/national-feed.md and its JSON Schema): it shows what the national system's team builds.

    python -m tests.support.fake_national_system --port 9100 --secret S

It deduplicates only by delivery_id, as the contract says a receiver should, and checks that each
person's records arrive in their order (sequence 1, 2, 3 … without a gap). Its behaviour is
switched at run time by POST /_mode {"mode": ok|fail|timeout|refuse}: answer 200, 503, only
after --slow seconds, or 422. GET /_records lists the records it kept (each once, in arrival
order); GET /_log every request it saw, duplicates and refusals included; GET /_problems what
broke the contract (a gap or a record out of order, a bad signature)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler

from tests.support.stand_in_receivers import SignedRequests, StandInHandler, serve


class FakeNationalSystem:
    def __init__(self, *, secret: str, slow_seconds: float) -> None:
        self.signing, self.slow_seconds = SignedRequests(secret=secret), slow_seconds
        self.mode = "ok"
        self.records: dict[str, dict] = {}  # delivery_id -> the record, in arrival order
        self.last_sequence: dict[str, int] = {}  # person_id -> highest sequence kept
        self.log: list[dict] = []
        self.problems: list[str] = []
        self.lock = threading.Lock()

    def take(self, record: dict) -> int:
        """The status to answer for a record that passed the signature check."""
        with self.lock:
            if record["delivery_id"] in self.records:
                return 200  # a record sent again (a retry, a restart): already kept, not kept twice
            person, sequence = record["person_id"], record["sequence"]
            expected = self.last_sequence.get(person, 0) + 1
            if sequence != expected:
                self.problems.append(f"person {person}: record {sequence} arrived when {expected} was due")
                return 409
            self.records[record["delivery_id"]] = record
            self.last_sequence[person] = sequence
            return 200


def handler_for(system: FakeNationalSystem) -> type[BaseHTTPRequestHandler]:
    class Handler(StandInHandler):
        def do_GET(self) -> None:
            with system.lock:
                views = {"/_records": lambda: {"records": list(system.records.values())},
                         "/_log": lambda: {"log": system.log}, "/_problems": lambda: {"problems": system.problems}}
                view = views.get(self.path)
                self.answer(200, view()) if view else self.answer(404, {"error": "no such page"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/_mode":
                system.mode = json.loads(body)["mode"]
                return self.answer(200, {"mode": system.mode})
            signed = system.signing.valid(header=self.headers.get("X-Songtor-Signature", ""),
                                          nonce=self.headers.get("X-Songtor-Nonce", ""), method="POST",
                                          path=self.path, body=body)
            record = json.loads(body)
            with system.lock:
                system.log.append({"delivery_id": record.get("delivery_id"), "mode": system.mode, "signed": signed,
                                   "at": time.time()})
                if not signed:
                    system.problems.append(f"record {record.get('delivery_id')}: bad signature")
            if not signed:
                return self.answer(401, {"error": "bad signature"})
            if system.mode == "timeout":
                time.sleep(system.slow_seconds)
            if system.mode == "fail":
                return self.answer(503, {"error": "maintenance"})
            if system.mode == "refuse":
                return self.answer(422, {"error": "unknown assistance category"})
            status = system.take(record)
            self.answer(status, {"delivery_id": record["delivery_id"]})

    return Handler


def main() -> None:
    serve(name="fake national system", make=lambda secret, slow: FakeNationalSystem(secret=secret, slow_seconds=slow), handler_for=handler_for)


if __name__ == "__main__":
    main()
