"""A delivery target says how the receiver knows a request is ours: signed with a shared secret,
a client certificate (mutual TLS), or both; a target that does neither, or half of mutual TLS,
is refused when the settings are read, saying what is missing. The agency webhooks' targets keep
their own rules: a url is optional (a system that only calls back) and the secret is required."""

import ssl

import pytest
from pydantic import ValidationError

from agency_adapters.webhooks.config import WebhookTarget, pushed_to
from shared.delivery.target import HttpTarget, http_client, tls_context
from tests.support.certificates import make_certificates

URL, SECRET = "https://national.example/songtor/feed", "a-secret-of-sixteen-or-more"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certificates"))


def refusal(**fields) -> str:  # noqa: ANN003
    with pytest.raises(ValidationError) as refused:
        HttpTarget(**fields)
    return str(refused.value)


def test_a_signed_target_needs_a_secret():
    assert HttpTarget(url=URL, secret=SECRET).signing
    assert "signing needs a secret" in refusal(url=URL)
    assert "at least 16" in refusal(url=URL, secret="too-short")


def test_a_target_that_neither_signs_nor_presents_a_certificate_is_refused():
    found = refusal(url=URL, signing=False)
    assert "could not tell our requests from anyone else's" in found and "client_cert_file" in found
    assert "could not tell" in refusal(url=URL, secret=SECRET, signing=False)


def test_mutual_tls_needs_both_the_certificate_and_its_key(certificates):
    assert "both client_cert_file and client_key_file" in refusal(url=URL, secret=SECRET,
                                                                  client_cert_file=certificates.client_cert)
    assert "both client_cert_file and client_key_file" in refusal(url=URL, secret=SECRET,
                                                                  client_key_file=certificates.client_key)


def test_mutual_tls_alone_needs_no_secret_and_both_together_are_allowed(certificates):
    tls = {"client_cert_file": certificates.client_cert, "client_key_file": certificates.client_key}
    alone = HttpTarget(url=URL, signing=False, **tls)
    assert alone.mutual_tls and alone.secret is None
    assert HttpTarget(url=URL, secret=SECRET, **tls).mutual_tls


def test_files_that_do_not_exist_are_refused_when_the_settings_are_read(tmp_path):
    assert "does not point to a file" in refusal(url=URL, secret=SECRET, ca_file=tmp_path / "missing.pem")


def test_an_agency_link_keeps_its_url_optional_and_its_secret_required(certificates):
    callbacks_only = WebhookTarget(secret=SECRET)
    assert callbacks_only.url is None and pushed_to({"skills": callbacks_only}) == {}
    with pytest.raises(ValidationError, match="secret"):
        WebhookTarget(url=URL, signing=False, client_cert_file=certificates.client_cert,
                      client_key_file=certificates.client_key)
    with pytest.raises(ValidationError, match="extra"):
        WebhookTarget(url=URL, secret=SECRET, retries=3)


async def test_the_client_has_the_targets_timeout_and_trusts_its_ca_file(certificates):
    target = HttpTarget(url=URL, secret=SECRET, timeout_seconds=3, ca_file=certificates.ca)
    async with http_client(target) as client:
        assert client.timeout.read == 3 and client.timeout.connect == 3
    trusted = [dict(entry[0] for entry in ca["subject"]) for ca in tls_context(target).get_ca_certs()]
    assert trusted == [{"commonName": "Songtor test CA"}]
    assert tls_context(target).verify_mode == ssl.CERT_REQUIRED and tls_context(target).check_hostname


def test_without_a_ca_file_the_default_trust_store_is_kept():
    context = tls_context(HttpTarget(url=URL, secret=SECRET))
    assert context.verify_mode == ssl.CERT_REQUIRED and len(context.get_ca_certs()) > 10


def test_the_client_certificate_is_loaded_with_its_key(certificates, tmp_path):
    other = make_certificates(tmp_path)
    mismatched = HttpTarget(url=URL, signing=False, client_cert_file=certificates.client_cert,
                            client_key_file=other.client_key)
    with pytest.raises(ssl.SSLError):
        tls_context(mismatched)
