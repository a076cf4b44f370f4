"""The emulator's TLS: a private CA and a server certificate it signs, for 127.0.0.1/localhost (and
any extra names).

In a folder of your choosing (``--tls-dir``) the CA (``ca.pem``) is made once and kept, so a saved
connection's ``verify`` stays valid across restarts; the server certificate is re-issued from it
whenever it has expired (or is about to) or the names it must carry changed.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from collections.abc import Sequence
from typing import Any

CA_FILE, CA_KEY_FILE = "ca.pem", "ca-key.pem"
CERT_FILE, KEY_FILE = "server.pem", "server-key.pem"
#: A server certificate lives this long, and is re-issued when less than a day of it is left.
SERVER_CERT_DAYS = 30


def server_certificate(directory: str, hostnames: Sequence[str] = ()) -> tuple[str, str, str]:
    """``(ca_file, cert_file, key_file)`` in ``directory``: the CA made if missing, the server
    certificate issued if missing, expiring within a day, or not naming ``hostnames``."""
    from cryptography import x509

    os.makedirs(directory, exist_ok=True)
    ca_file, ca_key_file = os.path.join(directory, CA_FILE), os.path.join(directory, CA_KEY_FILE)
    cert_file, key_file = os.path.join(directory, CERT_FILE), os.path.join(directory, KEY_FILE)
    if not (os.path.exists(ca_file) and os.path.exists(ca_key_file)):
        _write_ca(ca_file, ca_key_file)
    names = ("localhost", *hostnames)
    if not _still_good(cert_file, key_file, names):
        with open(ca_file, "rb") as f:
            ca = x509.load_pem_x509_certificate(f.read())
        _write_server(cert_file, key_file, ca, _load_key(ca_key_file), names)
    return ca_file, cert_file, key_file


def server_context(cert_path: str, key_path: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _still_good(cert_file: str, key_file: str, names: Sequence[str]) -> bool:
    from cryptography import x509

    if not (os.path.exists(cert_file) and os.path.exists(key_file)):
        return False
    with open(cert_file, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    fresh = cert.not_valid_after_utc - _now() > datetime.timedelta(days=1)
    return fresh and set(names) <= set(san.get_values_for_type(x509.DNSName))


def _load_key(path: str) -> Any:
    from cryptography.hazmat.primitives import serialization

    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def _write(cert: Any, key: Any, cert_file: str, key_file: str) -> None:
    from cryptography.hazmat.primitives import serialization

    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with open(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(key_pem)
    with open(cert_file, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


def _write_ca(ca_file: str, ca_key_file: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ICE emulator CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # key_cert_sign, crl_sign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(cert, key, ca_file, ca_key_file)


def _write_server(cert_file: str, key_file: str, ca: Any, ca_key: Any, names: Sequence[str]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ICE emulator")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=SERVER_CERT_DAYS))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(cert, key, cert_file, key_file)
