"""`make run`: the whole system on this machine — local Kafka, the identity provider (Keycloak
with the demo realm), the four services on embedded SQLite, and a handful of demo intakes —
until Ctrl-C, then everything stops cleanly.

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

from shared.settings import replication_for

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / ".data" / "run"
KAFKA = REPO / "deploy" / "kafka" / "kafka.sh"
KEYCLOAK = REPO / "deploy" / "keycloak" / "keycloak.sh"
KEYCLOAK_ENV = {"KEYCLOAK_PORT": os.environ.get("KEYCLOAK_PORT", "18080"),
                # Kept across runs (not under .data/run): users, keys and the built server survive.
                "KEYCLOAK_DATA_DIR": str(REPO / ".data" / "keycloak")}
DEMO = Path(__file__).with_name("demo_intakes.json")
KAFKA_PORT = os.environ.get("KAFKA_PORT", "9092")
# `make run BROKERS=3`: a three-node KRaft cluster on this machine, every topic with 3 replicas and
# 2 in sync, as a deployment runs it (docs/operations.md#a-replicated-log).
BROKERS = int(os.environ.get("BROKERS") or "1")
REPLICATION = dict(zip(("KAFKA_REPLICATION_FACTOR", "KAFKA_MIN_INSYNC_REPLICAS"), map(str, replication_for(BROKERS))))
SERVICES = [  # (name, module, env prefix, port) — started downstream first, so nothing waits
    ("reporting", "reporting", "REPORTING_", 8084),
    ("agency-adapters", "agency_adapters", "AGENCY_", 8083),
    ("routing", "routing", "ROUTING_", 8082),
    ("intake", "intake", "INTAKE_", 8081),
]


def say(message: str) -> None:
    print(f"[songtor] {message}", flush=True)


KAFKA_DATA = DATA / "kafka"
KAFKA_SECRETS = KAFKA_DATA / "secrets"
KAFKA_CA = KAFKA_DATA / "tls" / "ca.pem"
# Each service's own Kafka principal (shared/kafka/topology.py); reporting's ops view has one more.
PRINCIPALS = {"intake": "songtor-intake", "routing": "songtor-routing",
              "agency-adapters": "songtor-agency-adapters", "reporting": "songtor-reporting"}


def _kafka_env() -> dict[str, str]:
    return {**os.environ, "KAFKA_PORT": KAFKA_PORT, "KAFKA_DATA_DIR": str(KAFKA_DATA), "KAFKA_BROKERS": str(BROKERS)}


def start_kafka() -> str:
    nodes = "" if BROKERS == 1 else f"a {BROKERS}-node cluster from "
    say(f"starting Kafka, {nodes}127.0.0.1:{KAFKA_PORT}, SASL_SSL (first run fetches the jars with Maven)...")
    bootstrap = subprocess.run(["bash", str(KAFKA), "start"], env=_kafka_env(), check=True, capture_output=True,
                               text=True).stdout.strip().splitlines()[-1]
    # The set-up, exactly as on a ministry's cluster: topics, one login per principal, their ACLs.
    setup = {**os.environ, **kafka_login("songtor-admin", bootstrap), **REPLICATION,
             "KAFKA_SETUP_SECRETS_DIR": str(KAFKA_SECRETS)}
    subprocess.run([sys.executable, "-m", "shared.kafka.provision", "apply", "--generate-passwords"],
                   cwd=REPO, env=setup, check=True)
    return bootstrap


def kafka_login(principal: str, bootstrap: str) -> dict[str, str]:
    return {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_SSL_CAFILE": str(KAFKA_CA), "KAFKA_USERNAME": principal,
            "KAFKA_PASSWORD_FILE": str(KAFKA_SECRETS / f"{principal}.password")}


def stop_kafka() -> None:
    # Without KAFKA_BROKERS the script stops every node the data dir was formatted with.
    env = {**os.environ, "KAFKA_PORT": KAFKA_PORT, "KAFKA_DATA_DIR": str(KAFKA_DATA)}
    subprocess.run(["bash", str(KAFKA), "stop"], env=env, check=False)


def start_keycloak() -> str:
    say("starting Keycloak, the identity provider (the first run fetches and builds it: 1-2 minutes)...")
    issuer = subprocess.run(["bash", str(KEYCLOAK), "start"], env={**os.environ, **KEYCLOAK_ENV},
                            capture_output=True, text=True, check=False)
    if issuer.returncode != 0:
        raise SystemExit(f"Keycloak did not start:\n{issuer.stderr[-3000:]}")
    return issuer.stdout.strip().splitlines()[-1]


def stop_keycloak() -> None:
    subprocess.run(["bash", str(KEYCLOAK), "stop"], env={**os.environ, **KEYCLOAK_ENV}, check=False)


def token(user: str) -> str:
    return subprocess.run(["bash", str(KEYCLOAK), "token", user], env={**os.environ, **KEYCLOAK_ENV},
                          capture_output=True, text=True, check=True).stdout.strip()


def start_services(bootstrap: str, issuer: str) -> list[tuple[str, subprocess.Popen, int]]:
    (DATA / "logs").mkdir(parents=True, exist_ok=True)
    running = []
    for name, module, prefix, port in SERVICES:
        env = {
            **os.environ,
            **kafka_login(PRINCIPALS[name], bootstrap),
            **REPLICATION,
            "REPORTING_OPS_KAFKA_PASSWORD_FILE": str(KAFKA_SECRETS / "songtor-ops.password"),
            "SONGTOR_ENVIRONMENT": "local",  # the development person_ref key is accepted only here and in tests
            "SONGTOR_OIDC_ISSUER": issuer,
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
        # Each demo intake is sent by the demo clerk of its org unit (deploy/keycloak/songtor-realm.json).
        clerk = f"clerk-{body['source']['org_unit']}"
        response = httpx.post("http://127.0.0.1:8081/v1/intakes", json=body, timeout=10,
                              headers={"Authorization": f"Bearer {token(clerk)}"})
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
        issuer = start_keycloak()
        say(f"identity provider: {issuer}  (admin console: {issuer.split('/realms/')[0]}/admin, "
            "password in .data/keycloak/admin-password)")
        running = start_services(bootstrap, issuer)
        load_demo_intakes()
        month = time.strftime("%Y-%m", time.gmtime(time.time() + 7 * 3600))
        say("ready. Every route but /health and /metrics needs a token: `make token USER=<name>` prints one.")
        say("  demo users (password = name): clerk-6406, officer-employment-64, head-employment-64, "
            "officer-skills-64, province-64, ops, national, auditor (docs/identity.md: who sees what)")
        say("Try:")
        say("  curl -X POST localhost:8081/v1/intakes -H \"Authorization: Bearer $(make -s token USER=clerk-6406)\" "
            "-H 'content-type: application/json' -d @samples/intake-example.json")
        say("  curl localhost:8083/v1/agencies/employment/referrals?status=received "
            "-H \"Authorization: Bearer $(make -s token USER=officer-employment-64)\"")
        say(f"  curl 'localhost:8084/v1/reports/monthly?province=64&month={month}' "
            "-H \"Authorization: Bearer $(make -s token USER=province-64)\"")
        say("  ops page (sign in as ops/ops): http://127.0.0.1:8084/ops   metrics: /metrics on 8081-8084")
        say(f"  Kafka {bootstrap}: SASL_SSL, SCRAM-SHA-512, CA {KAFKA_CA.relative_to(REPO)}; an agency's own system "
            f"logs in as agency-<agency> (password in {KAFKA_SECRETS.relative_to(REPO)}/): "
            "KAFKA_BOOTSTRAP_SERVERS=" + bootstrap + " examples/agency_consumer.py welfare (docs/agency-it.md)")
        say("Ctrl-C stops everything.")
        while all(process.poll() is None for _n, process, _p in running):
            time.sleep(1)
        say("a service exited unexpectedly; stopping the rest (see .data/run/logs/)")
    except KeyboardInterrupt:
        say("stopping...")
    finally:
        stop_services(running)
        stop_kafka()
        stop_keycloak()
        say("stopped.")


if __name__ == "__main__":
    main()
