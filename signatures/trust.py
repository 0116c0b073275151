"""The trust store: a directory of certificates (anchors and intermediates) and CRLs.

Self-signed certificates are trust anchors; every other certificate is an
intermediate offered to path building. The store is a snapshot: its
``fingerprint`` changes whenever its content does, and path results are cached
under it, so reloading an unchanged directory keeps the cache warm.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

__all__ = ["TrustStore"]

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----.*?-----END \1-----", re.DOTALL)
_MAX_TRUST_FILE = 64 * 1024 * 1024


@dataclass(frozen=True)
class TrustStore:
    anchors: tuple[x509.Certificate, ...] = ()
    intermediates: tuple[x509.Certificate, ...] = ()
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    problems: tuple[str, ...] = ()
    """Files or blocks that could not be read, each with the reason."""
    source: str = ""
    fingerprint: str = field(default="")
    """SHA-256 over the store's content: the trust-store state path results are cached under."""
    intermediate_der: tuple[bytes, ...] = ()
    """DER of the intermediates, offered when a signature does not embed its signer certificate."""

    @classmethod
    def load(cls, directory: Path | str) -> TrustStore:
        certificates: list[x509.Certificate] = []
        crls: list[x509.CertificateRevocationList] = []
        problems: list[str] = []
        root = Path(directory)
        for path in sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else ():
            _read_trust_file(path, certificates, crls, problems)
        return cls.from_objects(certificates, crls, problems=problems, source=str(root))

    @classmethod
    def from_objects(
        cls,
        certificates: list[x509.Certificate] | tuple[x509.Certificate, ...],
        crls: list[x509.CertificateRevocationList] | tuple[x509.CertificateRevocationList, ...] = (),
        *,
        problems: list[str] | tuple[str, ...] = (),
        source: str = "",
    ) -> TrustStore:
        unique = {_der_sha256(cert): cert for cert in certificates}
        unique_crls = {hashlib.sha256(crl.public_bytes(_DER)).hexdigest(): crl for crl in crls}
        anchors = tuple(cert for cert in unique.values() if _self_signed(cert))
        intermediates = tuple(cert for cert in unique.values() if not _self_signed(cert))
        digest = hashlib.sha256()
        for key in sorted(unique) + sorted(unique_crls):
            digest.update(key.encode())
        return cls(
            anchors, intermediates, tuple(unique_crls.values()), tuple(problems), source, digest.hexdigest(),
            tuple(cert.public_bytes(_DER) for cert in intermediates),
        )

    def time_breakpoints(self) -> tuple[datetime, ...]:
        """Every instant at which a path result computed from this store may change."""
        return _breakpoints(self)

    def revocation_dates(self, serial: int) -> tuple[datetime, ...]:
        key = (self.fingerprint, serial)
        cached = _REVOCATION_DATES.get(key)
        if cached is None:
            cached = _REVOCATION_DATES[key] = self._find_revocation_dates(serial)
        return cached

    def _find_revocation_dates(self, serial: int) -> tuple[datetime, ...]:
        return tuple(
            entry.revocation_date_utc
            for crl in self.crls
            for entry in [crl.get_revoked_certificate_by_serial_number(serial)]
            if entry is not None
        )


_DER = Encoding.DER
_REVOCATION_DATES: dict[tuple[str, int], tuple[datetime, ...]] = {}
_BREAKPOINTS: dict[str, tuple[datetime, ...]] = {}


def _self_signed(cert: x509.Certificate) -> bool:
    # Self-issued is not enough: a CA's key-rollover certificate names itself as issuer
    # but is signed by the old key, and must stay an intermediate.
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _der_sha256(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(_DER)).hexdigest()


def _breakpoints(store: TrustStore) -> tuple[datetime, ...]:
    cached = _BREAKPOINTS.get(store.fingerprint)
    if cached is not None:
        return cached
    instants: set[datetime] = set()
    for cert in store.anchors + store.intermediates:
        instants.update((cert.not_valid_before_utc, cert.not_valid_after_utc))
        instants.update(store.revocation_dates(cert.serial_number))
    for crl in store.crls:
        instants.add(crl.last_update_utc)
        if crl.next_update_utc is not None:
            instants.add(crl.next_update_utc)
    result = tuple(sorted(instants))
    _BREAKPOINTS[store.fingerprint] = result
    return result


def _read_trust_file(
    path: Path,
    certificates: list[x509.Certificate],
    crls: list[x509.CertificateRevocationList],
    problems: list[str],
) -> None:
    try:
        if path.stat().st_size > _MAX_TRUST_FILE:
            problems.append(f"{path.name}: larger than {_MAX_TRUST_FILE} bytes, not read")
            return
        data = path.read_bytes()
    except OSError as error:
        problems.append(f"{path.name}: cannot be read ({error.strerror})")
        return
    blocks = [(m.group(1).decode(), m.group(0)) for m in _PEM_BLOCK.finditer(data)]
    if not blocks:
        if not _read_der(data, certificates, crls):
            problems.append(f"{path.name}: neither a certificate nor a CRL (PEM or DER)")
        return
    for label, block in blocks:
        if not _read_pem(label, block, certificates, crls):
            problems.append(f"{path.name}: a PEM block '{label}' could not be read")


def _read_pem(
    label: str, block: bytes, certificates: list[x509.Certificate], crls: list[x509.CertificateRevocationList]
) -> bool:
    try:
        if label in ("CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"):
            certificates.append(x509.load_pem_x509_certificate(block.replace(b"TRUSTED ", b"")))
        elif label == "X509 CRL":
            crls.append(x509.load_pem_x509_crl(block))
        elif label in ("PKCS7", "CMS"):
            certificates.extend(pkcs7.load_pem_pkcs7_certificates(block))
        else:
            return False
        return True
    except ValueError:
        return False


def _read_der(data: bytes, certificates: list[x509.Certificate], crls: list[x509.CertificateRevocationList]) -> bool:
    loaders = (
        lambda: certificates.append(x509.load_der_x509_certificate(data)),
        lambda: crls.append(x509.load_der_x509_crl(data)),
        lambda: certificates.extend(pkcs7.load_der_pkcs7_certificates(data)),
    )
    for loader in loaders:
        try:
            loader()
            return True
        except ValueError:
            continue
    return False


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
