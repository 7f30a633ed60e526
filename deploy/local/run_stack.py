"""`make run`: the whole system on this machine — local Kafka, the four services on embedded
SQLite, and a handful of demo intakes — until Ctrl-C, then everything stops cleanly.

Run with the project's virtual environment: `.venv/bin/python deploy/local/run_stack.py`.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / ".data" / "run"
KAFKA = REPO / "deploy" / "kafka" / "kafka.sh"
DEMO = Path(__file__).with_name("demo_intakes.json")
KAFKA_PORT = os.environ.get("KAFKA_PORT", "9092")
SERVICES = [  # (name, module, env prefix, port) — started downstream first, so nothing waits
    ("reporting", "reporting", "REPORTING_", 8084),
    ("agency-adapters", "agency_adapters", "AGENCY_", 8083),
    ("routing", "routing", "ROUTING_", 8082),
    ("intake", "intake", "INTAKE_", 8081),
]


def say(message: str) -> None:
    print(f"[songtor] {message}", flush=True)


def start_kafka() -> str:
    topics = subprocess.run(
        [sys.executable, "-m", "shared.topics"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    topics_file = DATA / "topics.txt"
    topics_file.write_text(topics)
    say(f"starting Kafka on 127.0.0.1:{KAFKA_PORT} (first run fetches the jars with Maven)...")
    env = {**os.environ, "KAFKA_PORT": KAFKA_PORT, "KAFKA_DATA_DIR": str(DATA / "kafka")}
    subprocess.run(["bash", str(KAFKA), "start", "--topics-file", str(topics_file)], env=env, check=True)
    return f"127.0.0.1:{KAFKA_PORT}"


def stop_kafka() -> None:
    env = {**os.environ, "KAFKA_PORT": KAFKA_PORT, "KAFKA_DATA_DIR": str(DATA / "kafka")}
    subprocess.run(["bash", str(KAFKA), "stop"], env=env, check=False)


def start_services(bootstrap: str) -> list[tuple[str, subprocess.Popen, int]]:
    (DATA / "logs").mkdir(parents=True, exist_ok=True)
    running = []
    for name, module, prefix, port in SERVICES:
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            f"{prefix}HTTP_PORT": str(port),
            f"{prefix}DATABASE_URL": f"sqlite:///{DATA / (name + '.db')}",
        }
        log = (DATA / "logs" / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", module], cwd=REPO, env=env, stdout=log, stderr=log,
            start_new_session=True,  # Ctrl-C reaches only this script, which stops them in order
        )
        running.append((name, process, port))
        wait_healthy(name, process, port)
        say(f"{name:16} http://127.0.0.1:{port}   (log: .data/run/logs/{name}.log)")
    return running


def wait_healthy(name: str, process: subprocess.Popen, port: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited ({process.returncode}); see .data/run/logs/{name}.log")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{name} did not become healthy in {timeout}s; see .data/run/logs/{name}.log")


def load_demo_intakes() -> None:
    if os.environ.get("KEEP") == "1":
        return
    accepted = 0
    for body in json.loads(DEMO.read_text(encoding="utf-8")):
        response = httpx.post("http://127.0.0.1:8081/v1/intakes", json=body, timeout=10)
        if response.status_code != 202:
            raise SystemExit(f"demo intake refused: {response.status_code} {response.text}")
        accepted += 1
    say(f"loaded {accepted} demo intakes (fictional people; Khon Kaen, Chachoengsao, Pathum Thani) "
        f"from {DEMO.relative_to(REPO)}")


def stop_services(running: list[tuple[str, subprocess.Popen, int]]) -> None:
    for name, process, _port in reversed(running):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for name, process, _port in running:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop in 20 s; killing it")
            process.kill()


def fresh_state() -> None:
    """Each `make run` starts from a clean slate (demo data only) unless KEEP=1: a demo whose
    counts grow with every start would make the numbers on screen hard to check."""
    if os.environ.get("KEEP") == "1":
        say("KEEP=1: keeping the previous run's data")
        return
    stop_kafka()  # a broker left over from an interrupted run would hold the old topics
    shutil.rmtree(DATA, ignore_errors=True)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main() -> None:
    # Ctrl-C and a supervisor's SIGTERM both mean "stop everything cleanly". Installed
    # explicitly: a shell that starts us in the background would otherwise leave SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    fresh_state()
    DATA.mkdir(parents=True, exist_ok=True)
    running: list[tuple[str, subprocess.Popen, int]] = []
    try:
        bootstrap = start_kafka()
        running = start_services(bootstrap)
        load_demo_intakes()
        month = time.strftime("%Y-%m", time.gmtime(time.time() + 7 * 3600))
        say("ready. Try:")
        say("  curl -X POST localhost:8081/v1/intakes -H 'content-type: application/json' "
            "-d @../shared/contract/intake-example.json")
        say(f"  curl 'localhost:8084/v1/reports/monthly?province=64&month={month}'")
        say("  curl 'localhost:8083/v1/agencies/employment/referrals?status=received'")
        say("  API docs: http://127.0.0.1:8081/docs  :8083/docs  :8084/docs   metrics: /metrics on 8081-8084")
        say("Ctrl-C stops everything.")
        while all(process.poll() is None for _n, process, _p in running):
            time.sleep(1)
        say("a service exited unexpectedly; stopping the rest (see .data/run/logs/)")
    except KeyboardInterrupt:
        say("stopping...")
    finally:
        stop_services(running)
        stop_kafka()
        say("stopped.")


if __name__ == "__main__":
    main()
