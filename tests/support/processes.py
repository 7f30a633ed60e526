"""Each service as its own OS process, started, killed and restarted like in production."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.kafka.topology import SERVICE_PRINCIPALS
from tests.support.infrastructure import REPO, cluster

SERVICE_MODULES = {
    "intake": ("intake", "INTAKE_"),
    "routing": ("routing", "ROUTING_"),
    "agency-adapters": ("agency_adapters", "AGENCY_"),
    "reporting": ("reporting", "REPORTING_"),
}


def kafka_login(service: str) -> dict[str, str]:
    """The service's own principal on the test broker (and the ops view's, for reporting)."""
    kafka = cluster()
    principal = SERVICE_PRINCIPALS[service]
    env = {"KAFKA_USERNAME": principal, "KAFKA_PASSWORD_FILE": str(kafka.password_file(principal))}
    if service == "reporting":
        ops = SERVICE_PRINCIPALS["ops"]
        env |= {"REPORTING_OPS_KAFKA_USERNAME": ops, "REPORTING_OPS_KAFKA_PASSWORD_FILE": str(kafka.password_file(ops))}
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServiceProcess:
    name: str
    env: dict[str, str]
    port: int
    log_path: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: float | None = 60.0) -> "ServiceProcess":
        """Spawn the process and wait until it answers its health check (not at all when `wait` is
        None: the caller starts several side by side and waits for each itself)."""
        module, _prefix = SERVICE_MODULES[self.name]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", module], cwd=REPO, env={**os.environ, **self.env}, stdout=log, stderr=log
        )
        if wait is not None:
            self.wait_healthy(timeout=wait)
        return self

    def wait_healthy(self, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; log: {self.log_tail()}")
            try:
                response = httpx.get(f"{self.url}/health", timeout=2)
                # Its own answer: a port picked free can be taken by another process before this one
                # binds it (the service then logs "Address already in use"), and that one may answer.
                if response.status_code == 200 and response.json().get("service") == self.name:
                    return
                last = response.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} not healthy after {timeout}s ({last}); log: {self.log_tail()}")

    def kill_hard(self) -> None:
        """kill -9: no shutdown hooks, no final commit — what a crash looks like."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: the process holds its connections but does no work, like a hung service."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        self.ask_to_stop()
        self.wait_stopped()

    def ask_to_stop(self) -> None:
        """SIGTERM, as a service manager sends; wait_stopped() waits for the graceful end."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


def service_env(*, name: str, port: int, database_url: str, kafka_env: dict[str, str]) -> dict[str, str]:
    _module, prefix = SERVICE_MODULES[name]
    env = {f"{prefix}HTTP_PORT": str(port), **kafka_env, **kafka_login(name), "SONGTOR_ENVIRONMENT": "test"}
    if database_url:
        env[f"{prefix}DATABASE_URL"] = database_url
    return env


def run_module(module: str, *args: str, env: dict[str, str]) -> str:
    """A project command (python -m module args) run to its end; its standard output."""
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@contextmanager
def stand_in(module: str, *, secret: str, slow_seconds: float, log: Path, probe: str) -> Iterator[str]:
    """A stand-in receiver (tests.support.fake_*) run as its own process on a free port, until the
    block ends; yields its base URL once `probe` (a path of its own) answers."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", module, "--port", str(port), "--secret", secret,
                                    "--slow", str(slow_seconds)], cwd=REPO, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"{url}{probe}", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
