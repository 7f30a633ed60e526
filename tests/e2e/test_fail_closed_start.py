"""A service started without its secrets or its identity provider refuses to start and says what
to set; development defaults are accepted only where the environment says local or test."""

import os
import subprocess
import sys

import pytest

from tests.support.infrastructure import REPO
from tests.support.processes import SERVICE_MODULES, free_port

pytestmark = pytest.mark.e2e

REAL_KEY = "k" * 40
# A master key list as an operator writes it; routing ignores it (it holds no keys).
MASTER_KEYS = "2027a=" + "A" * 43 + "="
OPENS_PEOPLE = ("agency-adapters", "intake", "reporting")
# A deployment's log (docs/operations.md#a-replicated-log): the other refusals are tested on it.
REPLICATED = {"KAFKA_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "2"}


def start(service: str, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:  # noqa: ANN001
    module, prefix = SERVICE_MODULES[service]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SONGTOR_", "KAFKA_", prefix))}
    env = {**base, f"{prefix}HTTP_PORT": str(free_port()), f"{prefix}DATABASE_URL": f"sqlite:///{tmp_path}/{service}.db",
           "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "KAFKA_USERNAME": f"songtor-{service}",
           "KAFKA_PASSWORD": "p" * 40, **REPLICATED, **env}
    return subprocess.run([sys.executable, "-m", module], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("service", sorted(SERVICE_MODULES))
def test_the_development_key_is_refused_unless_the_environment_says_local_or_test(service, tmp_path):
    for environment in ({}, {"SONGTOR_ENVIRONMENT": "production"}, {"SONGTOR_ENVIRONMENT": "staging"}):
        ended = start(service, {**environment, "SONGTOR_OIDC_ISSUER": "http://127.0.0.1:1/realms/songtor"}, tmp_path)
        assert ended.returncode != 0, f"{service} started with the development key in {environment or 'unset'}"
        assert "SONGTOR_PERSON_REF_KEY is the development key" in ended.stderr + ended.stdout


@pytest.mark.parametrize("service", sorted(SERVICE_MODULES))
def test_no_issuer_means_no_start(service, tmp_path):
    ended = start(service, {"SONGTOR_ENVIRONMENT": "production", "SONGTOR_PERSON_REF_KEY": REAL_KEY,
                            "SONGTOR_MASTER_KEYS": MASTER_KEYS}, tmp_path)
    assert ended.returncode != 0
    assert "SONGTOR_OIDC_ISSUER is not set" in ended.stderr + ended.stdout


@pytest.mark.parametrize("service", OPENS_PEOPLE)
def test_no_master_key_means_no_start_where_people_are_opened(service, tmp_path):
    for environment in ({}, {"SONGTOR_ENVIRONMENT": "production"}):
        ended = start(service, {**environment, "SONGTOR_PERSON_REF_KEY": REAL_KEY,
                                "SONGTOR_OIDC_ISSUER": "http://127.0.0.1:1/realms/songtor"}, tmp_path)
        assert ended.returncode != 0, f"{service} started without a master key in {environment or 'unset'}"
        assert "SONGTOR_MASTER_KEYS (or SONGTOR_MASTER_KEYS_FILE) is not set" in ended.stderr + ended.stdout
    malformed = start(service, {"SONGTOR_ENVIRONMENT": "production", "SONGTOR_PERSON_REF_KEY": REAL_KEY,
                                "SONGTOR_MASTER_KEYS": "2027a:not-a-list", "SONGTOR_OIDC_ISSUER": "http://127.0.0.1:1/r"},
                      tmp_path)
    assert malformed.returncode != 0 and "item 1 is not id=" in malformed.stderr + malformed.stdout


def test_a_short_key_is_refused_outside_local_and_test(tmp_path):
    ended = start("routing", {"SONGTOR_ENVIRONMENT": "production", "SONGTOR_PERSON_REF_KEY": "short-secret",
                              "SONGTOR_OIDC_ISSUER": "http://127.0.0.1:1/realms/songtor"}, tmp_path)
    assert ended.returncode != 0 and "at least 32 characters" in ended.stderr + ended.stdout


@pytest.mark.parametrize("service", sorted(SERVICE_MODULES))
def test_no_kafka_login_means_no_start(service, tmp_path):
    ended = start(service, {"SONGTOR_ENVIRONMENT": "production", "SONGTOR_PERSON_REF_KEY": REAL_KEY,
                            "SONGTOR_MASTER_KEYS": MASTER_KEYS, "SONGTOR_OIDC_ISSUER": "http://127.0.0.1:1/realms/songtor",
                            "KAFKA_USERNAME": ""}, tmp_path)
    assert ended.returncode != 0
    assert "KAFKA_USERNAME is not set" in ended.stderr + ended.stdout


@pytest.mark.parametrize("service", sorted(SERVICE_MODULES))
def test_an_unreplicated_log_means_no_start_outside_local_and_test(service, tmp_path):
    settings = {"SONGTOR_ENVIRONMENT": "production", "SONGTOR_PERSON_REF_KEY": REAL_KEY, "SONGTOR_MASTER_KEYS": MASTER_KEYS,
                "SONGTOR_OIDC_ISSUER": "http://127.0.0.1:1/realms/songtor", "KAFKA_REPLICATION_FACTOR": "1",
                "KAFKA_MIN_INSYNC_REPLICAS": "1"}
    ended = start(service, settings, tmp_path)
    assert ended.returncode != 0
    assert "the Kafka log is not replicated enough for a deployment: KAFKA_REPLICATION_FACTOR=1" in ended.stderr + ended.stdout
