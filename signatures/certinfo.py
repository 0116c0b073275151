"""Facts about one certificate, parsed once and cached by its DER bytes.

A province's few thousand certificates sign millions of documents, so the
``cryptography`` object, public key and subject fields are built once per certificate.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from signatures.keytypes import DSAPublicKey

__all__ = ["CertInfo", "cert_info", "key_bits", "load_certificate", "quiet_cryptography"]

_UID = x509.ObjectIdentifier("0.9.2342.19200300.100.1.1")


@dataclass(frozen=True)
class CertInfo:
    der: bytes
    cert: x509.Certificate
    public_key: object
    sha256: str
    subject: str
    issuer: str
    serial: int
    """Read once: ``cryptography`` warns on every read of a non-positive serial (see ``load_certificate``)."""
    serial_hex: str
    common_name: str | None
    organisation: str | None
    org_unit: str | None
    locality: str | None
    uid: str | None
    key_bits: int | None

    def asn1(self) -> asn1_x509.Certificate:
        return _asn1(self.der)


@lru_cache(maxsize=20000)
def cert_info(der: bytes) -> CertInfo:
    """Raises ValueError when the certificate cannot be parsed."""
    with quiet_cryptography():
        cert = load_certificate(der)
        serial = cert.serial_number
        public_key = _public_key(cert)
    return CertInfo(
        der=der,
        cert=cert,
        public_key=public_key,
        sha256=hashlib.sha256(der).hexdigest(),
        subject=_rfc4514(cert.subject),
        issuer=_rfc4514(cert.issuer),
        serial=serial,
        serial_hex=format(serial, "x"),
        common_name=_first(cert.subject, NameOID.COMMON_NAME),
        organisation=_first(cert.subject, NameOID.ORGANIZATION_NAME),
        org_unit=_first(cert.subject, NameOID.ORGANIZATIONAL_UNIT_NAME),
        locality=_first(cert.subject, NameOID.LOCALITY_NAME),
        uid=_first(cert.subject, _UID),
        key_bits=key_bits(public_key),
    )


def load_certificate(der: bytes) -> x509.Certificate:
    """The certificate, or ValueError (also for what ``cryptography`` reports otherwise, e.g. InvalidVersion)."""
    with quiet_cryptography():
        try:
            cert = x509.load_der_x509_certificate(der)
            # Parsed lazily: touching the fields here raises now, where a caller expects it, not later.
            cert.serial_number, cert.not_valid_before_utc, cert.not_valid_after_utc  # noqa: B018
        except x509.InvalidVersion as error:
            raise ValueError(f"the certificate has an unknown version ({error})") from error
    return cert


@contextmanager
def quiet_cryptography() -> Iterator[None]:
    """Silence ``cryptography``'s deprecation warnings for the code inside, and only those.

    Real certificates with a negative serial or non-DER fields still load; ``cryptography`` warns (on every
    read of such a field) that it will refuse them one day. That is meant for the library's user, not for
    someone reading docflow's output, so the engine silences it where it reads certificates.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        yield


@lru_cache(maxsize=20000)
def _asn1(der: bytes) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(der)


def _public_key(cert: x509.Certificate) -> object:
    try:
        return cert.public_key()
    except (ValueError, TypeError):
        # Unsupported or malformed key (e.g. DSA with inherited parameters): the signature check reports it.
        return None


def _rfc4514(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except (ValueError, TypeError):
        return repr(name)


def _first(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    try:
        values = name.get_attributes_for_oid(oid)
    except (ValueError, TypeError):
        return None
    return str(values[0].value) if values else None


def key_bits(public_key: object) -> int | None:
    if isinstance(public_key, (rsa.RSAPublicKey, DSAPublicKey, ec.EllipticCurvePublicKey)):
        with quiet_cryptography():
            return public_key.key_size
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return 256
    if isinstance(public_key, ed448.Ed448PublicKey):
        return 456
    return None
