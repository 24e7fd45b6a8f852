"""The center's own certificate authority: TLS on the LAN with no internet and no public CA.

`hangcho-gateway broker-auth` makes one CA per center (`ca.crt`, `ca.key`, the key 0600) and
issues from it the certificates the center serves: the broker's MQTT listener and the gateway's
web pages. Boards get `ca.crt` at provisioning and verify the broker against it; staff PCs
import it once to trust the console.

Keys are ECDSA P-256: small certificates (a board's heap and its TLS buffers are small) and a
handshake mbedTLS does quickly. Every certificate is valid from 2000-01-01: an ESP32's RTC starts
near 2000 after power-up until the gateway gives it the time (docs/protocol.md, Time), and a
certificate "not yet valid" then would keep it off the broker that gives it the time.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOT_BEFORE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
CA_YEARS = 30
LEAF_YEARS = 10


@dataclass(frozen=True, slots=True)
class Issued:
    cert: Path
    key: Path


def _write(path: Path, data: bytes, private: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    if private:
        os.chmod(path, 0o600)  # an older file may have had a wider mode


_CA_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())  # fmt: skip


def ensure_ca(folder: str | Path, center_id: str) -> Issued:
    """The center's CA in `folder` (ca.crt, ca.key), made once and kept: boards trust it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "ca.crt", folder / "ca.key"
    if cert_path.exists() and key_path.exists():
        return Issued(cert_path, key_path)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Hang Cho CA {center_id}"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Hang Cho")])  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(_years_from_now(CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(key_path, _key_pem(key), private=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return Issued(cert_path, key_path)


def issue(ca: Issued, folder: str | Path, name: str, hosts: list[str]) -> Issued:
    """A server certificate `name`.crt / `name`.key for `hosts` (IP addresses or DNS names),
    signed by the center's CA. Issued anew each call: a new address only needs broker-auth again."""
    folder = Path(folder)
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(_years_from_now(LEAF_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    _write(key_path, _key_pem(key), private=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False)
    return Issued(cert_path, key_path)


def _years_from_now(years: int) -> dt.datetime:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return now.replace(year=now.year + years, month=1, day=1)


def der(pem: bytes) -> bytes:
    """A PEM certificate as DER: what a board's MicroPython (mbedTLS without PEM) loads."""
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
