"""How a process logs in to the broker: the one place that turns KafkaSettings into client options,
for FastStream's broker and for the plain aiokafka clients (ops reader, rebuild, tests, examples)."""

import ssl
from typing import Any

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from shared.settings import KafkaSettings

_SASL = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256, "PLAIN": SASLPlaintext}


class KafkaLoginError(ValueError):
    """Settings that cannot log in; the message says which variable to set."""


def credentials(kafka: KafkaSettings) -> tuple[str, str]:
    if not kafka.username:
        raise KafkaLoginError(
            f"KAFKA_USERNAME is not set: the broker takes {kafka.security_protocol} logins only "
            "(docs/kafka-security.md lists each service's principal)."
        )
    password = kafka.secret()
    if not password:
        raise KafkaLoginError(f"no password for Kafka principal {kafka.username}: set KAFKA_PASSWORD_FILE "
                              "(or KAFKA_PASSWORD).")
    return kafka.username, password


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    if kafka.security_protocol not in ("SASL_SSL", "SSL"):
        return None
    try:
        # Verifies the broker's certificate and host name against the CA the deployment names.
        return ssl.create_default_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)
    except (OSError, ssl.SSLError) as exc:
        raise KafkaLoginError(f"KAFKA_SSL_CAFILE {kafka.ssl_cafile} cannot be used: {exc}") from exc


def client_options(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (consumer, producer, admin)."""
    options: dict[str, Any] = {"bootstrap_servers": kafka.bootstrap_hosts,
                               "security_protocol": kafka.security_protocol}
    if kafka.security_protocol in ("SASL_SSL", "SASL_PLAINTEXT"):
        username, password = credentials(kafka)
        options.update(sasl_mechanism=kafka.sasl_mechanism, sasl_plain_username=username,
                       sasl_plain_password=password)
    if (context := ssl_context(kafka)) is not None:
        options["ssl_context"] = context
    return options


def require_login(kafka: KafkaSettings) -> None:
    """Raises KafkaLoginError when the settings name no usable login (checked before connecting)."""
    if kafka.security_protocol in ("SASL_SSL", "SASL_PLAINTEXT"):
        credentials(kafka)
    ssl_context(kafka)


def broker_security(kafka: KafkaSettings) -> BaseSecurity | None:
    """FastStream's form of the same login; None while it has no username (a broker object built to
    describe the app, e.g. its OpenAPI, never connects; a service checks require_login at start)."""
    if kafka.security_protocol in ("SASL_SSL", "SASL_PLAINTEXT") and not kafka.username:
        return None
    context = ssl_context(kafka)
    if kafka.security_protocol in ("SASL_SSL", "SASL_PLAINTEXT"):
        username, password = credentials(kafka)
        return _SASL[kafka.sasl_mechanism](username, password, ssl_context=context,
                                            use_ssl=kafka.security_protocol == "SASL_SSL")
    if kafka.security_protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    return None
