"""A sample PKI shaped like the Vietnamese government one (domain.md §4).

Root "RootCA chuyên dùng Chính phủ mẫu G2" → intermediate "CA phục vụ các cơ quan
Nhà nước mẫu G2" → organisation and personal certificates with Vietnamese subject
fields, plus a TSA, CRLs, and an untrusted twin root for negative cases.

Everything is generated on demand; nothing here is ever written with its key
except by the caller. Key generation is the slow part, so keys come from a
per-process pool: ``build_pki`` twice in one process costs one set of keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "PrivateKey",
    "Issued",
    "SamplePKI",
    "build_pki",
    "new_key",
    "issue_person",
    "issue_organisation",
    "issue_tsa",
    "revoke",
    "make_crl",
    "write_trust_dir",
]

PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]

CA_ORG = "Ban Cơ yếu Chính phủ (mẫu)"
CRL_URL = "http://ca.example.invalid/pki/pub/crl/cpcag2-mau.crl"
_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
    "sha1": hashes.SHA1(),
}


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: PrivateKey

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()


@dataclass
class SamplePKI:
    """The hierarchy, and the revocations its CRLs will list."""

    root: Issued
    intermediate: Issued
    tsa: Issued
    untrusted_root: Issued
    now: datetime
    revoked: list[tuple[int, datetime]] = field(default_factory=list)
    """(serial, revocation time) of leaves revoked by the intermediate."""


_KEY_POOL: dict[tuple[str, int, str], PrivateKey] = {}


def new_key(kind: str = "rsa", size: int = 2048, slot: str = "") -> PrivateKey:
    """A key from the per-process pool; a distinct ``slot`` gives a distinct key."""
    pool_key = (kind, size, slot)
    if pool_key not in _KEY_POOL:
        if kind == "ec":
            curve = {256: ec.SECP256R1(), 384: ec.SECP384R1()}[size]
            _KEY_POOL[pool_key] = ec.generate_private_key(curve)
        else:
            _KEY_POOL[pool_key] = rsa.generate_private_key(public_exponent=65537, key_size=size)
    return _KEY_POOL[pool_key]


def _name(*attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes if value])


def _serial_for(subject: x509.Name, slot: str) -> int:
    # Deterministic per subject and slot so regenerated sample data keeps its serials.
    digest = hashlib.sha256(subject.rfc4514_string().encode() + slot.encode()).digest()
    return int.from_bytes(digest[:15], "big") | 1


def _key_usage(usage: str) -> x509.KeyUsage:
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    enabled = {
        "sign": ("digital_signature", "content_commitment"),
        "ca": ("digital_signature", "key_cert_sign", "crl_sign"),
        "encrypt": ("key_encipherment",),
    }[usage]
    flags.update(dict.fromkeys(enabled, True))
    return x509.KeyUsage(**flags)


def _certify(
    subject: x509.Name,
    key: PrivateKey,
    issuer: Issued | None,
    *,
    not_before: datetime,
    not_after: datetime,
    ca_path_length: int | None = None,
    is_ca: bool = False,
    usage: str = "sign",
    eku: x509.ObjectIdentifier | None = None,
    hash_name: str = "sha256",
    slot: str = "",
) -> Issued:
    """Issue a certificate for ``key`` (self-signed when ``issuer`` is None)."""
    signer_key = issuer.key if issuer else key
    issuer_name = issuer.cert.subject if issuer else subject
    public_key = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(_serial_for(subject, slot + not_before.isoformat()))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=ca_path_length), critical=True)
        .add_extension(_key_usage("ca" if is_ca else usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
        if not is_ca or issuer.cert.subject != issuer.cert.issuer:
            builder = builder.add_extension(
                x509.CRLDistributionPoints(
                    [x509.DistributionPoint([x509.UniformResourceIdentifier(CRL_URL)], None, None, None)]
                ),
                critical=False,
            )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
    cert = builder.sign(signer_key, _HASHES[hash_name])
    return Issued(cert=cert, key=key)


def build_pki(*, now: datetime | None = None, key_size: int = 2048) -> SamplePKI:
    """Root → intermediate → (TSA); and an untrusted root for negative cases."""
    now = now or datetime.now(timezone.utc)
    start = datetime(2018, 8, 22, tzinfo=timezone.utc)
    end = datetime(2048, 8, 14, tzinfo=timezone.utc)
    root = _certify(
        _name(
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.ORGANIZATION_NAME, CA_ORG),
            (NameOID.COMMON_NAME, "RootCA chuyên dùng Chính phủ mẫu G2"),
        ),
        new_key("rsa", key_size, "root"),
        None,
        not_before=start,
        not_after=end,
        is_ca=True,
    )
    intermediate = _certify(
        _name(
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.ORGANIZATION_NAME, CA_ORG),
            (NameOID.COMMON_NAME, "CA phục vụ các cơ quan Nhà nước mẫu G2"),
        ),
        new_key("rsa", key_size, "intermediate"),
        root,
        not_before=start,
        not_after=end,
        is_ca=True,
        ca_path_length=0,
    )
    untrusted_root = _certify(
        _name((NameOID.COUNTRY_NAME, "VN"), (NameOID.COMMON_NAME, "CA tự lập không được tin cậy")),
        new_key("rsa", key_size, "untrusted-root"),
        None,
        not_before=start,
        not_after=end,
        is_ca=True,
    )
    pki = SamplePKI(
        root=root,
        intermediate=intermediate,
        tsa=root,  # replaced just below; the TSA needs the intermediate to exist first
        untrusted_root=untrusted_root,
        now=now,
    )
    pki.tsa = issue_tsa(pki)
    return pki


def _leaf_validity(
    pki: SamplePKI, not_before: datetime | None, not_after: datetime | None
) -> tuple[datetime, datetime]:
    start = not_before or datetime(pki.now.year - 3, 1, 1, tzinfo=timezone.utc)
    return start, not_after or start + timedelta(days=365 * 6)


def issue_tsa(pki: SamplePKI) -> Issued:
    """A time-stamping authority certificate (EKU timeStamping, critical)."""
    start, end = _leaf_validity(pki, None, None)
    return _certify(
        _name(
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.ORGANIZATION_NAME, CA_ORG),
            (NameOID.COMMON_NAME, "Dịch vụ cấp dấu thời gian mẫu"),
        ),
        new_key("rsa", 2048, "tsa"),
        pki.intermediate,
        not_before=start,
        not_after=end + timedelta(days=3650),
        eku=ExtendedKeyUsageOID.TIME_STAMPING,
    )


def issue_person(
    pki: SamplePKI,
    full_name: str,
    *,
    agency: str,
    locality: str = "Bắc Kạn",
    department: str | None = None,
    citizen_id: str | None = None,
    key: PrivateKey | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    usage: str = "sign",
    hash_name: str = "sha256",
    issuer: Issued | None = None,
) -> Issued:
    """A personal certificate: CN = the person, O = their agency, UID = CCCD."""
    cccd = citizen_id or str(int(hashlib.sha256(full_name.encode()).hexdigest(), 16))[:12]
    subject = _name(
        (NameOID.COUNTRY_NAME, "VN"),
        (NameOID.LOCALITY_NAME, locality),
        (NameOID.ORGANIZATION_NAME, agency),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, department or ""),
        (NameOID.COMMON_NAME, full_name),
        (NameOID.USER_ID, f"CCCD:{cccd}"),
    )
    start, end = _leaf_validity(pki, not_before, not_after)
    return _certify(
        subject,
        key or new_key("rsa", 2048, f"person:{full_name}"),
        issuer or pki.intermediate,
        not_before=start,
        not_after=end,
        usage=usage,
        hash_name=hash_name,
    )


def issue_organisation(
    pki: SamplePKI,
    name: str,
    *,
    organisation: str | None = "UBND tỉnh Bắc Kạn",
    locality: str = "Bắc Kạn",
    tax_code: str | None = None,
    key: PrivateKey | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    usage: str = "sign",
    hash_name: str = "sha256",
    issuer: Issued | None = None,
) -> Issued:
    """An organisation certificate (replaces the seal): CN = the agency's name."""
    subject = _name(
        (NameOID.COUNTRY_NAME, "VN"),
        (NameOID.LOCALITY_NAME, locality),
        (NameOID.ORGANIZATION_NAME, organisation or ""),
        (NameOID.COMMON_NAME, name),
        (NameOID.USER_ID, f"MST:{tax_code}" if tax_code else ""),
    )
    start, end = _leaf_validity(pki, not_before, not_after)
    return _certify(
        subject,
        key or new_key("rsa", 2048, f"org:{name}"),
        issuer or pki.intermediate,
        not_before=start,
        not_after=end,
        usage=usage,
        hash_name=hash_name,
    )


def revoke(pki: SamplePKI, issued: Issued, revoked_at: datetime) -> None:
    """List ``issued`` as revoked from ``revoked_at`` in the next CRL made."""
    pki.revoked.append((issued.cert.serial_number, revoked_at))


def make_crl(
    pki: SamplePKI,
    *,
    issuer: Issued | None = None,
    this_update: datetime | None = None,
    next_update: datetime | None = None,
    revoked: list[tuple[int, datetime]] | None = None,
) -> x509.CertificateRevocationList:
    """A CRL signed by ``issuer`` (the intermediate by default) listing the revocations."""
    issuer = issuer or pki.intermediate
    this_update = this_update or pki.now - timedelta(days=1)
    next_update = next_update or this_update + timedelta(days=30)
    entries = pki.revoked if revoked is None and issuer is pki.intermediate else (revoked or [])
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(int(this_update.timestamp())), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    )
    for serial, when in entries:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(issuer.key, hashes.SHA256())


def write_trust_dir(
    pki: SamplePKI,
    path: Path,
    *,
    this_update: datetime | None = None,
    next_update: datetime | None = None,
) -> Path:
    """Write the trust store a province would configure: certificates and CRLs, never keys.

    The root is PEM and the intermediate DER, to show both are read; the CRLs likewise.
    """
    path.mkdir(parents=True, exist_ok=True)
    pem, der = serialization.Encoding.PEM, serialization.Encoding.DER
    (path / "root-g2-mau.pem").write_bytes(pki.root.cert.public_bytes(pem))
    (path / "ca-nha-nuoc-g2-mau.cer").write_bytes(pki.intermediate.cert.public_bytes(der))
    (path / "tsa-mau.pem").write_bytes(pki.tsa.cert.public_bytes(pem))
    intermediate_crl = make_crl(pki, this_update=this_update, next_update=next_update)
    root_crl = make_crl(pki, issuer=pki.root, this_update=this_update, next_update=next_update, revoked=[])
    (path / "ca-nha-nuoc-g2-mau.crl").write_bytes(intermediate_crl.public_bytes(der))
    (path / "root-g2-mau.crl.pem").write_bytes(root_crl.public_bytes(pem))
    return path
