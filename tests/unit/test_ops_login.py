"""The ops view's Kafka login: the service's broker, CA and prefixes, its own principal and
password (never reporting's), and a start refused, naming the variable, when it has none."""

from pathlib import Path

import pytest
from pydantic import SecretStr

from reporting.ops import _check_login
from reporting.settings import ReportingSettings
from shared.kafka.connection import KafkaLoginError
from shared.settings import KafkaSettings, PrivacySettings

SERVICE_KAFKA = KafkaSettings(bootstrap_servers="broker:9093", topic_prefix="p.", group_prefix="g.",
                              username="songtor-reporting", password=SecretStr("reporting-secret"),
                              ssl_cafile=Path("/run/kafka-tls/ca.pem"))


def settings(**ops: object) -> ReportingSettings:
    # Named here, not taken from the environment a test run may carry.
    ops = {"ops_kafka_username": "songtor-ops", "ops_kafka_password": None, "ops_kafka_password_file": None, **ops}
    return ReportingSettings(kafka=SERVICE_KAFKA, privacy=PrivacySettings(environment="test"), **ops)


def test_the_ops_login_shares_the_broker_and_ca_but_not_the_principal(tmp_path):
    secret = tmp_path / "songtor-ops.password"
    secret.write_text("ops-secret\n")
    ops = settings(ops_kafka_password_file=secret).ops_kafka()
    assert (ops.bootstrap_servers, ops.ssl_cafile, ops.topic_prefix, ops.group_prefix, ops.security_protocol) == (
        "broker:9093", Path("/run/kafka-tls/ca.pem"), "p.", "g.", "SASL_SSL")
    assert (ops.username, ops.password, ops.secret()) == ("songtor-ops", None, "ops-secret")
    assert settings().kafka.username == "songtor-reporting"  # the service's own login is untouched


def test_the_ops_login_never_falls_back_to_reporting_s_password():
    assert settings().ops_kafka().secret() is None


async def test_reporting_does_not_start_without_the_ops_password():
    with pytest.raises(KafkaLoginError, match="REPORTING_OPS_KAFKA_PASSWORD_FILE"):
        await _check_login(settings().ops_kafka())
