"""The trust store: a directory of certificates (anchors and intermediates) and CRLs.

Self-signed certificates are trust anchors; every other certificate is an
intermediate offered to path building. The store is a snapshot: its
``fingerprint`` changes whenever its content does, and path results are cached
under it, so reloading an unchanged directory keeps the cache warm.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from signatures.certinfo import _rfc4514 as _name  # the form verdicts name signers' issuers in
from signatures.certinfo import quiet_cryptography
from signatures.crlindex import index_of, sniff_crl

__all__ = ["TrustStore", "TrustMember", "TrustRole", "UnreadableCrl"]

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----.*?-----END \1-----", re.DOTALL)
MAX_TRUST_FILE = 256 * 1024 * 1024
"""Larger files are not read (a hostile trust folder must not exhaust memory), and say so loudly."""
_SNIFF_BYTES = 64 * 1024
_NO_NAMES: Mapping[int, str] = MappingProxyType({})


@dataclass(frozen=True)
class UnreadableCrl:
    """A trust file that is (or looks like) a CRL but could not be loaded.

    Every verdict whose revocation check needed a CRL from ``issuer`` (any verdict when the issuer
    could not be read) names the file instead of passing or saying the store holds no CRLs.
    """

    file: str
    why: str
    issuer: bytes | None
    """DER of the issuer name read from the file's first bytes; None when it could not be read."""
    loaded: bool = False
    """Loaded and offered to path validation all the same: named only when revocation data is missing."""


class TrustRole(StrEnum):
    ANCHOR = "anchor"
    INTERMEDIATE = "intermediate"
    CRL = "crl"


@dataclass(frozen=True)
class TrustMember:
    """One certificate or CRL of a trust store, as a later state is compared with it: what was added, removed
    or replaced, and so which signers' chains a change touches."""

    role: TrustRole
    sha256: str
    """Of its DER."""
    name: str
    """RFC 4514: the certificate's subject, or the CRL's issuer."""
    issuer: str | None = None
    """RFC 4514 issuer of a certificate; None for a CRL."""
    this_update: datetime | None = None
    """A CRL's thisUpdate; None for a certificate."""


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
    crl_der: tuple[bytes, ...] = ()
    """DER of each CRL, in the order of ``crls``."""
    unreadable_crls: tuple[UnreadableCrl, ...] = ()

    @classmethod
    def load(cls, directory: Path | str) -> TrustStore:
        certificates: list[x509.Certificate] = []
        crls: list[x509.CertificateRevocationList] = []
        problems: list[str] = []
        unreadable: list[UnreadableCrl] = []
        root = Path(directory)
        with quiet_cryptography():
            crl_files: dict[int, str] = {}
            for path in sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else ():
                before = len(crls)
                _read_trust_file(path, certificates, crls, problems, unreadable)
                crl_files.update((id(crl), path.name) for crl in crls[before:])
            return cls.from_objects(
                certificates, crls, problems=problems, source=str(root), unreadable_crls=unreadable, crl_files=crl_files
            )

    @classmethod
    def from_objects(
        cls,
        certificates: list[x509.Certificate] | tuple[x509.Certificate, ...],
        crls: list[x509.CertificateRevocationList] | tuple[x509.CertificateRevocationList, ...] = (),
        *,
        problems: list[str] | tuple[str, ...] = (),
        source: str = "",
        unreadable_crls: list[UnreadableCrl] | tuple[UnreadableCrl, ...] = (),
        crl_files: Mapping[int, str] = _NO_NAMES,
    ) -> TrustStore:
        """``crl_files``: the file each CRL came from, by ``id`` of the CRL object, for the reasons that name it."""
        unique = {_der_sha256(cert): cert for cert in certificates}
        # public_bytes re-encodes a CRL (half a second for a million entries): once per CRL, kept.
        encoded = {id(crl): crl.public_bytes(_DER) for crl in crls}
        unique_crls = {hashlib.sha256(encoded[id(crl)]).hexdigest(): crl for crl in crls}
        problems, unreadable_crls = list(problems), list(unreadable_crls)
        for _key, crl in list(unique_crls.items()):
            named = [cert for cert in unique.values() if cert.subject == crl.issuer]
            if named and not any(_signed_by(crl, cert) for cert in named):
                # Kept for certvalidator (RFC 5280 lets a CA sign CRLs with another key, certified elsewhere), but
                # named, so a verdict left without revocation data says which file let it down.
                why = "its signature does not verify under its CA's certificate"
                file = crl_files.get(id(crl), "a CRL")
                problems.append(f"{file}: {why}")
                unreadable_crls.append(UnreadableCrl(file, why, crl.issuer.public_bytes(), loaded=True))
        anchors = tuple(cert for cert in unique.values() if _self_signed(cert))
        intermediates = tuple(cert for cert in unique.values() if not _self_signed(cert))
        digest = hashlib.sha256()
        for key in sorted(unique) + sorted(unique_crls):
            digest.update(key.encode())
        for failure in unreadable_crls:
            digest.update(f"unreadable:{failure.file}".encode())
        crl_list = tuple(unique_crls.values())
        crl_der = tuple(encoded[id(crl)] for crl in crl_list)
        for crl, der in zip(crl_list, crl_der):
            # Indexed now, once: verification processes forked later share the index instead of each building it.
            index_of(der, crl.signature)
        return cls(
            anchors,
            intermediates,
            crl_list,
            tuple(problems),
            source,
            digest.hexdigest(),
            tuple(cert.public_bytes(_DER) for cert in intermediates),
            crl_der,
            tuple(unreadable_crls),
        )

    def inventory(self) -> tuple[TrustMember, ...]:
        """Every anchor, intermediate and CRL of the store, in that order."""
        with quiet_cryptography():
            certificates = [
                TrustMember(role, _der_sha256(cert), _name(cert.subject), _name(cert.issuer))
                for role, group in ((TrustRole.ANCHOR, self.anchors), (TrustRole.INTERMEDIATE, self.intermediates))
                for cert in group
            ]
            crls = [
                TrustMember(
                    TrustRole.CRL, hashlib.sha256(der).hexdigest(), _name(crl.issuer), this_update=crl.last_update_utc
                )
                for crl, der in zip(self.crls, self.crl_der)
            ]
        return (*certificates, *crls)

    def time_breakpoints(self) -> tuple[datetime, ...]:
        """Every instant at which a path result computed from this store may change."""
        return _breakpoints(self)

    def revocation_dates(self, serial: int) -> tuple[datetime, ...]:
        """When ``serial`` was revoked, by any CRL of the store (one lookup per CRL, never a walk)."""
        key = (self.fingerprint, serial)
        cached = _REVOCATION_DATES.get(key)
        if cached is None:
            cached = tuple(
                when for crl, der in zip(self.crls, self.crl_der) if (when := _revoked_at(crl, der, serial)) is not None
            )
            if len(_REVOCATION_DATES) > _REVOCATION_CACHE_LIMIT:
                _REVOCATION_DATES.clear()
            _REVOCATION_DATES[key] = cached
        return cached

    def revoked_by_issuer(
        self, cert: x509.Certificate, serial: int, issuers: tuple[x509.Certificate, ...]
    ) -> datetime | None:
        """The earliest revocation of ``cert`` listed by a CRL that one of its ``issuers`` signed, or None.

        Used to find a known revocation when a full path validation stops earlier (e.g. the root's CRL is
        missing): the CRL's signature is checked here, since certvalidator never got to it.
        """
        dates = [
            when
            for crl, der in zip(self.crls, self.crl_der)
            if crl.issuer == cert.issuer
            and any(_signed_by(crl, issuer) for issuer in issuers)
            and (when := _revoked_at(crl, der, serial)) is not None
        ]
        return min(dates) if dates else None

    def has_crl_from(self, cert: x509.Certificate, issuers: tuple[x509.Certificate, ...], moment: datetime) -> bool:
        """Whether a CRL signed by ``cert``'s issuer covers ``moment`` (its nextUpdate is not before it)."""
        return any(
            crl.issuer == cert.issuer
            and any(_signed_by(crl, issuer) for issuer in issuers)
            and (crl.next_update_utc is None or crl.next_update_utc >= moment)
            for crl in self.crls
        )

    def unreadable_crls_for(self, issuers: list[bytes], *, loaded: bool = True) -> tuple[UnreadableCrl, ...]:
        """CRL files that failed and may be by one of ``issuers`` (DER names), or by anyone; ``loaded``: those too."""
        return tuple(
            failure
            for failure in self.unreadable_crls
            if (failure.issuer is None or failure.issuer in issuers) and (loaded or not failure.loaded)
        )


def _revoked_at(crl: x509.CertificateRevocationList, der: bytes, serial: int) -> datetime | None:
    index = index_of(der, crl.signature)
    if index.indirect:
        entry = crl.get_revoked_certificate_by_serial_number(serial)
        return None if entry is None else entry.revocation_date_utc
    when = index.revoked_at(serial)
    return when.astimezone(UTC) if when is not None else None


def _signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    try:
        with quiet_cryptography():  # a DSA-signed CRL still checks; cryptography's notice is not the reader's
            return crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False


_REVOCATION_CACHE_LIMIT = 200_000


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
        with quiet_cryptography():
            serial = cert.serial_number
        instants.update(store.revocation_dates(serial))
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
    unreadable: list[UnreadableCrl],
) -> None:
    try:
        size = path.stat().st_size
        if size > MAX_TRUST_FILE:
            why = f"larger than {MAX_TRUST_FILE // 2**20} MiB, not read"
            problems.append(f"{path.name}: {why}")
            with path.open("rb") as handle:
                _note_if_crl(path, handle.read(_SNIFF_BYTES), why, unreadable)
            return
        data = path.read_bytes()
    except OSError as error:
        problems.append(f"{path.name}: cannot be read ({error.strerror})")
        if path.suffix.lower() == ".crl":
            unreadable.append(UnreadableCrl(path.name, f"cannot be read ({error.strerror})", None))
        return
    blocks = [(m.group(1).decode(), m.group(0)) for m in _PEM_BLOCK.finditer(data)]
    if not blocks:
        if not _read_der(data, certificates, crls):
            problems.append(f"{path.name}: neither a certificate nor a CRL (PEM or DER)")
            _note_if_crl(path, data[:_SNIFF_BYTES], "not a readable CRL", unreadable)
        return
    for label, block in blocks:
        if not _read_pem(label, block, certificates, crls):
            problems.append(f"{path.name}: a PEM block '{label}' could not be read")
            if label == "X509 CRL":
                unreadable.append(UnreadableCrl(path.name, "its CRL block could not be read", None))


def _note_if_crl(path: Path, head: bytes, why: str, unreadable: list[UnreadableCrl]) -> None:
    """Record the file as an unreadable CRL when its first bytes or its name say it is one."""
    pem = _PEM_HEAD.search(head)
    if pem is not None:
        if pem.group(1) == b"X509 CRL":
            unreadable.append(UnreadableCrl(path.name, why, None))
        return
    sniff = sniff_crl(head)
    if sniff.is_crl or path.suffix.lower() == ".crl":
        issuer = sniff.issuer.dump() if sniff.issuer is not None else None
        unreadable.append(UnreadableCrl(path.name, why, issuer))


_PEM_HEAD = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----")


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
    loaders: tuple[Callable[[], None], ...] = (
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
