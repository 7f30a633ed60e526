"""A throw-away certificate authority in a folder, for TLS tests without network: the CA, a server
certificate for 127.0.0.1 and localhost, and a client certificate for mutual TLS (PEM files)."""

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Certificates:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_name: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(*, subject: str, issuer: str, issuer_key: ec.EllipticCurvePrivateKey, key: ec.EllipticCurvePrivateKey,
           ca: bool, usage: list[x509.ObjectIdentifier], names: list[x509.GeneralName]) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
            decipher_only=False), critical=True)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(folder: Path, name: str, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def make_certificates(folder: Path, *, client_name: str = "songtor-delivery-test") -> Certificates:
    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _issue(subject="Songtor test CA", issuer="Songtor test CA", issuer_key=ca_key, key=ca_key, ca=True,
                usage=[], names=[])
    server = _issue(subject="localhost", issuer="Songtor test CA", issuer_key=ca_key, key=server_key, ca=False,
                    usage=[ExtendedKeyUsageOID.SERVER_AUTH],
                    names=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    client = _issue(subject=client_name, issuer="Songtor test CA", issuer_key=ca_key, key=client_key, ca=False,
                    usage=[ExtendedKeyUsageOID.CLIENT_AUTH], names=[])
    ca_path, _ = _write(folder, "ca", ca, ca_key)
    server_cert, server_key_path = _write(folder, "server", server, server_key)
    client_cert, client_key_path = _write(folder, "client", client, client_key)
    return Certificates(ca=ca_path, server_cert=server_cert, server_key=server_key_path, client_cert=client_cert,
                        client_key=client_key_path, client_name=client_name)
