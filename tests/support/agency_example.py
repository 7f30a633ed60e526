"""examples/agency_consumer.py run as an agency's IT team would: its own login, the CA, the
namespace of the test — and nothing of Songtor's own settings."""

import os
import subprocess
import sys

from shared.kafka.topology import agency_principal
from tests.support.infrastructure import REPO, KafkaCluster

EXAMPLE = ["examples/agency_consumer.py"]


def example_consumer_env(kafka_cluster: KafkaCluster, kafka_env: dict[str, str], agency: str) -> dict[str, str]:
    """What an agency's IT team is given (docs/agency-it.md): its login, the CA, the namespace."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    principal = agency_principal(agency)
    return {**base, "KAFKA_BOOTSTRAP_SERVERS": kafka_cluster.bootstrap, "KAFKA_SSL_CAFILE": str(kafka_cluster.ca_file),
            "KAFKA_USERNAME": principal, "KAFKA_PASSWORD_FILE": str(kafka_cluster.password_file(principal)),
            "KAFKA_TOPIC_PREFIX": kafka_env["KAFKA_TOPIC_PREFIX"], "KAFKA_GROUP_PREFIX": kafka_env["KAFKA_GROUP_PREFIX"]}


def run_example_consumer(kafka_cluster: KafkaCluster, kafka_env: dict[str, str], *, agency: str,
                         records: int) -> subprocess.CompletedProcess:
    """Reads `records` referrals and exits; its stdout holds one JSON line per referral."""
    return subprocess.run([sys.executable, *EXAMPLE, agency, "--max-records", str(records)], cwd=REPO,
                          env=example_consumer_env(kafka_cluster, kafka_env, agency),
                          capture_output=True, text=True, timeout=120, check=False)
