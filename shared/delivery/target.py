"""One receiving system as a channel reaches it: its address, how it knows the request is ours (an
HMAC signature with a shared secret, a client certificate for mutual TLS, or both), and the
timeout, retry and circuit-breaker settings of the link."""

import ssl
from typing import Annotated, Self

import httpx
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, FilePath, SecretStr, model_validator

Secret = Annotated[SecretStr, Field(min_length=16)]


class HttpTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: AnyHttpUrl = Field(description="Where records are POSTed.")
    secret: Secret | None = Field(default=None, description="HMAC-SHA256 key shared with the receiver's IT team; "
                                  "needed when signing.")
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    max_attempts: int = Field(default=8, ge=1, le=100, description="Failed attempts before the delivery is parked.")
    backoff_base_seconds: float = Field(default=2.0, gt=0)
    backoff_cap_seconds: float = Field(default=600.0, gt=0)
    breaker_failures: int = Field(default=5, ge=1, description="Failures in a row that open the circuit.")
    breaker_cooldown_seconds: float = Field(default=60.0, gt=0)
    concurrency: int = Field(default=4, ge=1, le=64, description="Deliveries in flight at once.")
    signing: bool = Field(default=True, description="Sign each request with the secret (X-Songtor-Signature and "
                          "X-Songtor-Nonce, shared/delivery/signing.py).")
    client_cert_file: FilePath | None = Field(default=None, description="PEM certificate (chain) presented for "
                                              "mutual TLS; with client_key_file.")
    client_key_file: FilePath | None = Field(default=None, description="PEM private key of client_cert_file, "
                                             "unencrypted: the file's permissions protect it.")
    ca_file: FilePath | None = Field(default=None, description="PEM bundle of the CAs the receiver's certificate "
                                     "must chain to; unset: httpx's default trust store.")

    @property
    def mutual_tls(self) -> bool:
        return self.client_cert_file is not None

    @model_validator(mode="after")
    def _receiver_can_tell_it_is_us(self) -> Self:
        if (self.client_cert_file is None) != (self.client_key_file is None):
            raise ValueError("mutual TLS needs both client_cert_file and client_key_file, or neither")
        if self.url is None:  # a subclass's link that only receives (WebhookTarget): nothing is sent
            return self
        if self.signing and self.secret is None:
            raise ValueError("signing needs a secret of at least 16 characters; to rely on mutual TLS alone, "
                             "set signing to false and give client_cert_file and client_key_file")
        if not self.signing and not self.mutual_tls:
            raise ValueError("the receiver could not tell our requests from anyone else's: sign them (a secret, "
                             "signing true), present a client certificate (client_cert_file and client_key_file), "
                             "or both")
        return self


def tls_context(target: HttpTarget) -> ssl.SSLContext:
    """Whom the link trusts to be the receiver, and the certificate it presents, if any."""
    # Without a CA file: httpx's own default (certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR),
    # what every delivery trusted before mutual TLS could be set.
    context = ssl.create_default_context(cafile=target.ca_file) if target.ca_file else httpx.create_ssl_context()
    if target.client_cert_file is not None and target.client_key_file is not None:
        context.load_cert_chain(certfile=target.client_cert_file, keyfile=target.client_key_file)
    return context


def http_client(target: HttpTarget) -> httpx.AsyncClient:
    """The client of one link: its timeout for each request, its TLS trust and client certificate."""
    return httpx.AsyncClient(timeout=target.timeout_seconds, verify=tls_context(target))
