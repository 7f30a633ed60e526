"""Fixtures for the real components. Unit tests use none of them."""

import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.identity import Identity, KeycloakForTests
from tests.support.infrastructure import REPO, KafkaCluster, KafkaForTests, PostgresForTests, use
from tests.support.processes import ServiceProcess, free_port, service_env

# The test process is a test environment: development defaults (the person_ref key) are allowed
# here and nowhere unset (shared.settings.PrivacySettings).
os.environ.setdefault("SONGTOR_ENVIRONMENT", "test")
# person.keys compacted within seconds, not a day: the erasure tests see a key leave the log. The
# set-up, the services and the tests all read it from here (KafkaSettings), so they agree.
os.environ.setdefault("KAFKA_PERSON_KEYS_COMPACTION_SECONDS", "4")
os.environ.setdefault("KAFKA_PERSON_KEYS_TOMBSTONE_SECONDS", "600")

DATABASES = [name.strip() for name in os.environ.get("SONGTOR_TEST_DATABASES", "sqlite,postgresql").split(",")]
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="session")
def kafka_cluster() -> Iterator[KafkaCluster]:
    """The secured test broker (SASL_SSL, SCRAM, ACLs) and the logins to it."""
    kafka = KafkaForTests()
    try:
        yield kafka.start()
    finally:
        kafka.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_cluster: KafkaCluster) -> str:
    return kafka_cluster.bootstrap


@pytest.fixture(scope="session")
def identity() -> Iterator[Identity]:
    """The project's Keycloak with the demo realm; `identity.auth("province-64")` signs requests."""
    keycloak = KeycloakForTests()
    try:
        yield Identity(issuer=keycloak.start(), keycloak=keycloak)
    finally:
        keycloak.stop()


@pytest.fixture(scope="session")
def postgres() -> PostgresForTests:
    pg = PostgresForTests()
    pg.start()
    return pg


@pytest.fixture
def kafka_env(kafka_cluster: KafkaCluster, identity: Identity) -> Iterator[dict[str, str]]:
    """Topic and group namespaces of this test alone, so tests never read each other's messages,
    laid down by the project's set-up (topics and ACLs); the broker's CA; and the issuer every
    service trusts. Each service adds its own login (tests.support.processes.service_env)."""
    run = f"t{uuid.uuid4().hex[:8]}"
    use(kafka_cluster)
    kafka_cluster.provision(topic_prefix=f"{run}.", group_prefix=f"{run}.", partitions=3)
    yield {
        "SONGTOR_OIDC_ISSUER": identity.issuer,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_cluster.bootstrap,
        "KAFKA_SSL_CAFILE": str(kafka_cluster.ca_file),
        "KAFKA_TOPIC_PREFIX": f"{run}.",
        "KAFKA_GROUP_PREFIX": f"{run}.",
        "KAFKA_PARTITIONS": "3",
        # What the services check their topics against at start: the set-up's numbers for this cluster.
        "KAFKA_REPLICATION_FACTOR": str(kafka_cluster.replication_factor),
        "KAFKA_MIN_INSYNC_REPLICAS": str(kafka_cluster.min_insync_replicas),
    }
    kafka_cluster.remove(topic_prefix=f"{run}.", group_prefix=f"{run}.")


@pytest.fixture(params=DATABASES)
def db_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(
    db_backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[[str], str]:
    """database_url(service) -> a fresh, empty database for that service in this test."""

    def make(service: str) -> str:
        if db_backend == "sqlite":
            return f"sqlite:///{tmp_path}/{service}.db"
        pg: PostgresForTests = request.getfixturevalue("postgres")
        name = re.sub(r"[^a-z0-9_]", "_", f"{service}_{uuid.uuid4().hex[:8]}".lower())
        return pg.fresh_database(name)

    return make


@pytest.fixture
def artifacts_dir(request: pytest.FixtureRequest) -> Path:
    path = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.nodeid)[-150:]
    path.mkdir(parents=True, exist_ok=True)
    return path


class ServiceStarter:
    """start_service(name, extra_env) -> a running service process on a free port, stopped after
    the test. `database` (a URL from database_url) lets several processes of one service share a
    database, as replicas or per-agency consumers do; `label` names the log of each.
    start_service.stack(*names) starts several side by side (their imports and start-ups overlap
    on the cores) and returns them by name once every one answers."""

    def __init__(self, *, kafka_env: dict[str, str], database_url: Callable[[str], str], artifacts_dir: Path) -> None:
        self._kafka_env, self._database_url, self._artifacts_dir = kafka_env, database_url, artifacts_dir
        self.started: list[ServiceProcess] = []

    def __call__(
        self, name: str, extra_env: dict[str, str] | None = None, *, database: str | None = None,
        label: str | None = None, wait: float | None = 60.0,
    ) -> ServiceProcess:
        port = free_port()
        env = service_env(name=name, port=port, database_url=database or self._database_url(name),
                          kafka_env=self._kafka_env)
        process = ServiceProcess(
            name=name,
            env={**env, **(extra_env or {})},
            port=port,
            log_path=self._artifacts_dir / f"{label or name}.log",
        )
        self.started.append(process)
        return process.start(wait=wait)

    def stack(self, *names: str, wait: float = 60.0) -> dict[str, ServiceProcess]:
        processes = {name: self(name, wait=None) for name in names}
        for process in processes.values():
            process.wait_healthy(timeout=wait)
        return processes

    def stop_all(self) -> None:
        """All stop side by side: each ends its consumers and relays on its own."""
        for process in self.started:
            process.ask_to_stop()
        for process in self.started:
            process.wait_stopped()


@pytest.fixture
def start_service(
    kafka_env: dict[str, str], database_url: Callable[[str], str], artifacts_dir: Path
) -> Iterator[ServiceStarter]:
    starter = ServiceStarter(kafka_env=kafka_env, database_url=database_url, artifacts_dir=artifacts_dir)
    yield starter
    starter.stop_all()
