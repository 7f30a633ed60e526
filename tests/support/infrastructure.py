"""The real components the integration tests run against.

Kafka: the project's own broker script (deploy/kafka/kafka.sh), secured as in production (SASL_SSL,
SCRAM, ACLs), laid out by the project's own set-up (shared.kafka.provision) for each test's
namespace; every service logs in as its own principal with only its own ACLs. PostgreSQL:
`SONGTOR_TEST_PG_URL` when set, else the project's script (deploy/postgres/pg.sh), which installs
it if absent. Nothing here skips: a component that cannot be had fails the tests that need it, loudly.
"""

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shared.kafka.provision import SetupSettings, apply, remove_namespace
from shared.kafka.topology import SETUP_PRINCIPAL
from shared.settings import KafkaSettings, replication_for

REPO = Path(__file__).resolve().parents[2]
KAFKA_SCRIPT = REPO / "deploy" / "kafka" / "kafka.sh"
PG_SCRIPT = REPO / "deploy" / "postgres" / "pg.sh"
TEST_KAFKA_PORT = int(os.environ.get("SONGTOR_TEST_KAFKA_PORT", "19092"))
# The fault tests' three-node cluster (tests/faults): nodes on this port, +3 and +6.
TEST_CLUSTER_PORT = int(os.environ.get("SONGTOR_TEST_KAFKA_CLUSTER_PORT", "19192"))
# Overridable so that two checkouts or two people can run suites side by side (with their own ports).
TEST_DATA = Path(os.environ.get("SONGTOR_TEST_DATA", REPO / ".data" / "test"))


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


@dataclass(frozen=True)
class KafkaNode:
    node_id: int  # Kafka's broker id
    port: int
    pid: int | None  # None: not running


@dataclass(frozen=True)
class KafkaCluster:
    """The test broker (or brokers) and what a client needs to log in to it."""

    bootstrap: str
    data_dir: Path
    brokers: int = 1
    port: int = TEST_KAFKA_PORT

    @property
    def replication_factor(self) -> int:
        return replication_for(self.brokers)[0]

    @property
    def min_insync_replicas(self) -> int:
        return replication_for(self.brokers)[1]

    def _script_env(self) -> dict[str, str]:
        return {"KAFKA_PORT": str(self.port), "KAFKA_DATA_DIR": str(self.data_dir), "KAFKA_BROKERS": str(self.brokers)}

    def nodes(self) -> list[KafkaNode]:
        """Which process is which broker, as the script knows them."""
        lines = _run(["bash", str(KAFKA_SCRIPT), "nodes"], env=self._script_env()).split("\n")
        found = [line.split() for line in lines if line.strip()]
        return [KafkaNode(int(node), int(port), None if pid == "-" else int(pid)) for node, port, pid in found]

    def start_missing(self) -> None:
        """Starts every node that is not running (one a fault test killed), and waits for it."""
        _run(["bash", str(KAFKA_SCRIPT), "start"], env=self._script_env())

    @property
    def ca_file(self) -> Path:
        return self.data_dir / "tls" / "ca.pem"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"

    def password_file(self, principal: str) -> Path:
        return self.secrets_dir / f"{principal}.password"

    def login(self, principal: str, **namespace: str) -> KafkaSettings:
        return KafkaSettings(bootstrap_servers=self.bootstrap, ssl_cafile=self.ca_file, username=principal,
                             password_file=self.password_file(principal), **namespace)

    def harness(self, **namespace: str) -> KafkaSettings:
        """The set-up's own login: what the tests use to look at topics from outside (or to put
        bytes on one) — the only one that may touch every topic."""
        return self.login(SETUP_PRINCIPAL, **namespace)

    def provision(self, *, topic_prefix: str, group_prefix: str, partitions: int) -> None:
        """Lay the declaration down for one namespace, as `make run` and compose do for theirs."""
        kafka = self.harness(topic_prefix=topic_prefix, group_prefix=group_prefix)
        kafka.partitions = partitions
        kafka.replication_factor, kafka.min_insync_replicas = self.replication_factor, self.min_insync_replicas
        apply(SetupSettings(secrets_dir=self.secrets_dir, generate_passwords=True, kafka=kafka))

    def remove(self, *, topic_prefix: str, group_prefix: str) -> None:
        """Take a test's namespace away after it: thousands of namespaces kept on one small broker
        would exhaust its heap within a suite."""
        kafka = self.harness(topic_prefix=topic_prefix, group_prefix=group_prefix)
        remove_namespace(SetupSettings(secrets_dir=self.secrets_dir, kafka=kafka))


# Set by KafkaForTests.start(): tests/support/kafka_io reads topics as the harness.
CLUSTER: KafkaCluster | None = None


def cluster() -> KafkaCluster:
    if CLUSTER is None:
        raise InfrastructureError("the test broker is not started (use the kafka_bootstrap fixture)")
    return CLUSTER


def use(kafka: KafkaCluster) -> None:
    """The cluster the test at hand runs on (a session may hold the single broker and the fault
    tests' three-node cluster at once)."""
    global CLUSTER
    CLUSTER = kafka


class KafkaForTests:
    """Starts (or finds) the secured broker, or a cluster of `brokers` nodes, once per test session."""

    def __init__(self, *, brokers: int = 1, port: int = TEST_KAFKA_PORT, data_dir: Path = TEST_DATA / "kafka") -> None:
        self._cluster = KafkaCluster(bootstrap=",".join(f"127.0.0.1:{port + 3 * n}" for n in range(brokers)),
                                     data_dir=data_dir, brokers=brokers, port=port)
        self._env = self._cluster._script_env()
        self._started_script = False

    def start(self) -> KafkaCluster:
        global CLUSTER
        # A broker another test session already runs is shared, and left running for it.
        already_running = subprocess.run(
            ["bash", str(KAFKA_SCRIPT), "status"], env={**os.environ, **self._env}, capture_output=True, check=False
        ).returncode == 0
        _run(["bash", str(KAFKA_SCRIPT), "start"], env=self._env)
        self._started_script = not already_running
        CLUSTER = self._cluster
        return CLUSTER

    def stop(self) -> None:
        if self._started_script:
            _run(["bash", str(KAFKA_SCRIPT), "stop"], env=self._env)


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
