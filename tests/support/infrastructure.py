"""The real components the integration tests run against.

Kafka: `KAFKA_BOOTSTRAP_SERVERS` when set; else testcontainers when a Docker engine answers;
else the project's own broker script (deploy/kafka/kafka.sh). PostgreSQL: `SONGTOR_TEST_PG_URL`
when set, else the project's script (deploy/postgres/pg.sh), which installs it if absent.
Nothing here skips: a component that cannot be had fails the tests that need it, loudly.
"""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KAFKA_SCRIPT = REPO / "deploy" / "kafka" / "kafka.sh"
PG_SCRIPT = REPO / "deploy" / "postgres" / "pg.sh"
TEST_KAFKA_PORT = int(os.environ.get("SONGTOR_TEST_KAFKA_PORT", "19092"))
TEST_DATA = REPO / ".data" / "test"


class InfrastructureError(RuntimeError):
    pass


def _run(cmd: list[str], *, env: dict[str, str] | None = None, timeout: int = 600) -> str:
    result = subprocess.run(
        cmd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise InfrastructureError(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means "no engine here"
        return False


class KafkaForTests:
    """Starts (or finds) a broker once per test session."""

    def __init__(self) -> None:
        self.bootstrap: str | None = None
        self._container = None
        self._started_script = False

    def start(self) -> str:
        if from_env := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            self.bootstrap = from_env
        elif _docker_answers():
            from testcontainers.kafka import KafkaContainer

            self._container = KafkaContainer("apache/kafka:4.3.1").with_kraft()
            self._container.start()
            self.bootstrap = self._container.get_bootstrap_server()
        else:
            env = {"KAFKA_PORT": str(TEST_KAFKA_PORT), "KAFKA_DATA_DIR": str(TEST_DATA / "kafka")}
            # A broker another test session already runs is shared, and left running for it.
            already_running = subprocess.run(
                ["bash", str(KAFKA_SCRIPT), "status"], env={**os.environ, **env}, capture_output=True, check=False
            ).returncode == 0
            _run(["bash", str(KAFKA_SCRIPT), "start"], env=env)
            self._started_script = not already_running
            self.bootstrap = f"127.0.0.1:{TEST_KAFKA_PORT}"
        return self.bootstrap

    def stop(self) -> None:
        if self._container is not None:
            self._container.stop()
        if self._started_script:
            env = {"KAFKA_PORT": str(TEST_KAFKA_PORT), "KAFKA_DATA_DIR": str(TEST_DATA / "kafka")}
            _run(["bash", str(KAFKA_SCRIPT), "stop"], env=env)


class PostgresForTests:
    def __init__(self) -> None:
        self._url_from_env = os.environ.get("SONGTOR_TEST_PG_URL")

    def start(self) -> None:
        if not self._url_from_env:
            _run(["bash", str(PG_SCRIPT), "start"])

    def fresh_database(self, name: str) -> str:
        """An empty database for one service of one test."""
        if self._url_from_env:
            base = self._url_from_env.rsplit("/", 1)[0]
            _psycopg_recreate(base, name)
            return f"{base}/{name}"
        return _run(["bash", str(PG_SCRIPT), "fresh-db", name]).strip().splitlines()[-1]


def _psycopg_recreate(base_url: str, name: str) -> None:
    import psycopg

    dsn = base_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
