"""The pipeline benchmark's own system: a broker and a Keycloak started by the project's scripts on
ports and a data dir of their own (so neither `make run` nor a test run is disturbed), a Kafka
namespace laid down by the project's set-up per database, and the four services as processes
logged in as their own principals, the way deploy/local/run_stack.py starts them."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from pipeline_figures import parse_proc_stat, parse_vm_rss

REPO = Path(__file__).resolve().parents[1]
KAFKA_SCRIPT = REPO / "deploy" / "kafka" / "kafka.sh"
KEYCLOAK_SCRIPT = REPO / "deploy" / "keycloak" / "keycloak.sh"
PG_SCRIPT = REPO / "deploy" / "postgres" / "pg.sh"
# (name, module, env prefix) — started downstream first, so nothing waits for a consumer.
SERVICES = [("reporting", "reporting", "REPORTING_"), ("agency-adapters", "agency_adapters", "AGENCY_"),
            ("routing", "routing", "ROUTING_"), ("intake", "intake", "INTAKE_")]


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


@dataclass
class Infrastructure:
    """The bench's broker and identity provider."""

    data: Path
    kafka_port: int
    keycloak_port: int
    code: Path = REPO  # the tree the services and the set-up run from (export_commit: another commit's)
    issuer: str = ""

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def kafka_dir(self) -> Path:
        return self.data / "kafka"

    def _kafka_env(self) -> dict[str, str]:
        return {**os.environ, "KAFKA_PORT": str(self.kafka_port), "KAFKA_DATA_DIR": str(self.kafka_dir)}

    def _keycloak_env(self) -> dict[str, str]:
        # Kept across runs (its own dir, not the broker's): the second start skips Keycloak's build.
        return {"KEYCLOAK_START_TIMEOUT": "600", **os.environ, "KEYCLOAK_PORT": str(self.keycloak_port),
                "KEYCLOAK_DATA_DIR": str(self.data / "keycloak")}

    def start(self) -> None:
        say(f"fresh broker on {self.bootstrap} (data {self.kafka_dir.relative_to(REPO)})")
        # A broker of an earlier run would still hold its topics and groups: every run starts clean.
        subprocess.run(["bash", str(KAFKA_SCRIPT), "reset"], env=self._kafka_env(), check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["bash", str(KAFKA_SCRIPT), "start"], env=self._kafka_env(), check=True,
                       stdout=subprocess.DEVNULL)
        say(f"Keycloak on 127.0.0.1:{self.keycloak_port} (the first start builds it: 1-2 minutes)")
        started = subprocess.run(["bash", str(KEYCLOAK_SCRIPT), "start"], env=self._keycloak_env(),
                                 capture_output=True, text=True, check=False)
        if started.returncode != 0:
            raise SystemExit(f"Keycloak did not start:\n{started.stderr[-3000:]}")
        self.issuer = started.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        subprocess.run(["bash", str(KAFKA_SCRIPT), "stop"], env=self._kafka_env(), check=False)
        subprocess.run(["bash", str(KEYCLOAK_SCRIPT), "stop"], env=self._keycloak_env(), check=False)

    def broker_pid(self) -> int | None:
        try:
            return int((self.kafka_dir / "kafka.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def login(self, principal: str, *, prefix: str = "", partitions: int | None = None):  # noqa: ANN201
        """KafkaSettings of one principal on the bench broker, in namespace `prefix`."""
        from shared.settings import KafkaSettings

        settings = KafkaSettings(bootstrap_servers=self.bootstrap, ssl_cafile=self.kafka_dir / "tls" / "ca.pem",
                                 username=principal, password_file=self.password_file(principal),
                                 topic_prefix=prefix, group_prefix=prefix or "songtor.")
        if partitions is not None:
            settings.partitions = partitions
        return settings

    def password_file(self, principal: str) -> Path:
        return self.kafka_dir / "secrets" / f"{principal}.password"

    def python_path(self) -> dict[str, str]:
        return {} if self.code == REPO else {"PYTHONPATH": str(self.code / ".packages")}

    def provision(self, *, prefix: str, partitions: int) -> None:
        """The project's set-up for one namespace (topics, a login per principal, their ACLs), run as
        `make run` runs it, from the code being measured."""
        env = {**os.environ, **self.python_path(), "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
               "KAFKA_SSL_CAFILE": str(self.kafka_dir / "tls" / "ca.pem"), "KAFKA_USERNAME": "songtor-admin",
               "KAFKA_PASSWORD_FILE": str(self.password_file("songtor-admin")), "KAFKA_TOPIC_PREFIX": prefix,
               "KAFKA_GROUP_PREFIX": prefix, "KAFKA_PARTITIONS": str(partitions),
               "KAFKA_SETUP_SECRETS_DIR": str(self.kafka_dir / "secrets")}
        subprocess.run([sys.executable, "-m", "shared.kafka.provision", "apply", "--generate-passwords"],
                       cwd=self.code, env=env, check=True)

    def service_env(self, name: str, *, prefix: str, partitions: int) -> dict[str, str]:
        from shared.kafka.topology import SERVICE_PRINCIPALS

        principal = SERVICE_PRINCIPALS[name]
        env = {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "KAFKA_SSL_CAFILE": str(self.kafka_dir / "tls" / "ca.pem"),
               "KAFKA_USERNAME": principal, "KAFKA_PASSWORD_FILE": str(self.password_file(principal)),
               "KAFKA_TOPIC_PREFIX": prefix, "KAFKA_GROUP_PREFIX": prefix, "KAFKA_PARTITIONS": str(partitions),
               "SONGTOR_ENVIRONMENT": "local", "SONGTOR_OIDC_ISSUER": self.issuer}
        if name == "reporting":  # its ops view reads the broker as a principal of its own
            env |= {"REPORTING_OPS_KAFKA_USERNAME": SERVICE_PRINCIPALS["ops"],
                    "REPORTING_OPS_KAFKA_PASSWORD_FILE": str(self.password_file(SERVICE_PRINCIPALS["ops"]))}
        return env


def export_commit(*, commit: str, data: Path) -> Path:
    """A clean copy of the tree at `commit`, to measure it while this checkout holds other (perhaps
    uncommitted) code: `git archive`, which touches neither the index nor the work tree. Its packages
    are linked into .packages, which PYTHONPATH puts before this checkout's editable install."""
    resolved = subprocess.run(["git", "rev-parse", "--short", commit], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    target = data / f"code-{resolved}"
    if not (target / ".exported").exists():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", resolved], cwd=REPO, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        packages = target / ".packages"
        packages.mkdir()
        (packages / "shared").symlink_to(target / "shared")
        for name, module, _prefix in SERVICES:
            (packages / module).symlink_to(target / "services" / name)
        (target / ".exported").touch()
    return target


def database_urls(*, database: str, folder: Path) -> dict[str, str]:
    """A fresh database per service: a new SQLite file, or a re-created PostgreSQL database."""
    urls = {}
    for name, _module, _prefix in SERVICES:
        if database == "sqlite":
            for leftover in folder.glob(f"{name}.db*"):
                leftover.unlink()
            urls[name] = f"sqlite:///{folder / (name + '.db')}"
        else:
            made = subprocess.run(["bash", str(PG_SCRIPT), "fresh-db", f"bench_{name.replace('-', '_')}"],
                                  capture_output=True, text=True, check=True)
            urls[name] = made.stdout.strip().splitlines()[-1]
    return urls


@dataclass
class Service:
    name: str
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Services:
    running: list[Service] = field(default_factory=list)

    def by_name(self, name: str) -> Service:
        return next(s for s in self.running if s.name == name)

    def pids(self) -> dict[str, int]:
        return {s.name: s.process.pid for s in self.running}

    def stop(self) -> None:
        for service in reversed(self.running):
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        for service in self.running:
            try:
                service.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                say(f"{service.name} did not stop in 30 s; killing it")
                service.process.kill()
                service.process.wait(timeout=10)
        self.running.clear()


def start_services(infra: Infrastructure, *, prefix: str, partitions: int, urls: dict[str, str], folder: Path,
                   first_port: int) -> Services:
    services = Services()
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    for port in range(first_port, first_port + len(SERVICES)):
        # Else /health would be answered by whatever holds the port (a service left by a killed run).
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise SystemExit(f"port {port} is taken (a service of an earlier run?): see `ss -ltnp`")
    for offset, (name, module, env_prefix) in enumerate(SERVICES):
        port = first_port + offset
        env = {**os.environ, **infra.python_path(), **infra.service_env(name, prefix=prefix, partitions=partitions),
               f"{env_prefix}HTTP_PORT": str(port), f"{env_prefix}DATABASE_URL": urls[name]}
        if name == "intake":
            env["INTAKE_BULK_UPLOAD_DIR"] = str(folder / "uploads")
        log_path = folder / "logs" / f"{name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen([sys.executable, "-m", module], cwd=infra.code, env=env, stdout=log, stderr=log,
                                       start_new_session=True)
        service = Service(name=name, port=port, process=process, log_path=log_path)
        services.running.append(service)
        try:
            _wait_healthy(service)
        except BaseException:
            services.stop()
            raise
    return services


def _wait_healthy(service: Service, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise SystemExit(f"{service.name} exited ({service.process.returncode}); see {service.log_path}")
        try:
            if httpx.get(f"{service.url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{service.name} not healthy after {timeout} s; see {service.log_path}")


# ------------------------------------------------------------------ /proc --


def cpu_ticks(pids: dict[str, int]) -> dict[str, int]:
    found = {}
    for name, pid in pids.items():
        try:
            found[name] = parse_proc_stat(Path(f"/proc/{pid}/stat").read_text())
        except (OSError, ValueError):
            pass
    return found


def batch_totals(services: Services) -> dict[str, tuple[float, float]]:
    """Per consumer group: (batches, records) read so far, from each service's /metrics."""
    found: dict[str, tuple[float, float]] = {}
    for service in services.running:
        try:
            text = httpx.get(f"{service.url}/metrics", timeout=5).text
        except httpx.HTTPError:
            continue
        for family in text_string_to_metric_families(text):
            if family.name != "songtor_consumer_batch_records":
                continue
            for sample in family.samples:
                group = sample.labels.get("consumer_group", "")
                batches, records = found.get(group, (0.0, 0.0))
                if sample.name.endswith("_count"):
                    found[group] = (batches + sample.value, records)
                elif sample.name.endswith("_sum"):
                    found[group] = (batches, records + sample.value)
    return found


def rss_kb(pids: dict[str, int]) -> dict[str, int]:
    found = {}
    for name, pid in pids.items():
        try:
            found[name] = parse_vm_rss(Path(f"/proc/{pid}/status").read_text())
        except OSError:
            pass
    return found


def postgres_backends(databases: list[str]) -> dict[str, int]:
    """The PostgreSQL server processes serving the bench's databases (the cluster is shared with the
    tests, so only these count): pid of each backend, keyed by pid, from their process titles."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and any(f" {db} " in title for db in databases):
            found[f"pg:{entry.name}"] = int(entry.name)
    return found


def total_cpu_ticks(pids: dict[str, int]) -> int:
    return sum(cpu_ticks(pids).values())


def ticks_per_second() -> int:
    return os.sysconf("SC_CLK_TCK")
