"""A sample PKI shaped like the Vietnamese government one (docs/domain.md §4).

Root "RootCA chuyên dùng Chính phủ mẫu G2" → intermediate "CA phục vụ các cơ quan
Nhà nước mẫu G2" → organisation and personal certificates with Vietnamese subject
fields, plus a TSA, CRLs, and an untrusted twin hierarchy for negative cases.

Everything is generated on demand; nothing here is ever written with its key
except by the caller. Key generation is the slow part, so keys come from a
per-process pool: ``build_pki`` twice in one process costs one set of keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "PrivateKey",
    "Issued",
    "Revocation",
    "SamplePKI",
    "KEY_TYPES",
    "build_pki",
    "new_key",
    "key_of_type",
    "issue_person",
    "issue_organisation",
    "issue_tsa",
    "revoke",
    "make_crl",
    "write_trust_dir",
]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

CA_ORG = "Ban Cơ yếu Chính phủ (mẫu)"
# Never fetched: the verifier reads CRLs from the trust directory only.
CRL_URL = "http://ca.example.invalid/pki/pub/crl/cpcag2-mau.crl"
ROOT_CRL_URL = "http://ca.example.invalid/pki/pub/crl/rootcag2-mau.crl"
KEY_TYPES: dict[str, tuple[str, int]] = {
    "rsa1024": ("rsa", 1024),
    "rsa2048": ("rsa", 2048),
    "rsa3072": ("rsa", 3072),
    "rsa4096": ("rsa", 4096),
    "ec256": ("ec", 256),
    "ec384": ("ec", 384),
}
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


@dataclass(frozen=True)
class Revocation:
    """One CRL entry: who revoked, which serial, and from when."""

    issuer: x509.Name
    serial: int
    revoked_at: datetime


@dataclass
class SamplePKI:
    """The hierarchy, and the revocations its CRLs will list.

    ``untrusted_root`` and ``untrusted_intermediate`` mirror the real hierarchy but
    are never written to the trust directory: NO_CERTIFICATE_CHAIN_FOUND cases.
    """

    root: Issued
    intermediate: Issued
    tsa: Issued
    untrusted_root: Issued
    untrusted_intermediate: Issued
    now: datetime
    seed_name: str = "mau"
    revoked: list[Revocation] = field(default_factory=list)


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


def key_of_type(key_type: str, slot: str) -> PrivateKey:
    """A pooled key by short name: ``rsa2048``, ``rsa1024``, ``rsa3072``, ``ec256`` …"""
    kind, size = KEY_TYPES[key_type]
    return new_key(kind, size, slot)


def _name(*attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes if value])


def _serial_for(*parts: object) -> int:
    # Derived from everything that makes the certificate distinct, so two different
    # certificates never share a serial (a revocation must hit exactly one).
    digest = hashlib.sha256(repr(parts).encode()).digest()
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


def _crl_distribution_point(issuer: Issued) -> x509.CRLDistributionPoints:
    url = ROOT_CRL_URL if issuer.cert.subject == issuer.cert.issuer else CRL_URL
    return x509.CRLDistributionPoints([x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)])


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
    key_identifiers: bool = True,
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
        .serial_number(
            _serial_for(
                subject.rfc4514_string(),
                issuer_name.rfc4514_string(),
                not_before,
                not_after,
                usage,
                hash_name,
                public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
            )
        )
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=ca_path_length), critical=True)
        .add_extension(_key_usage("ca" if is_ca else usage), critical=True)
    )
    if key_identifiers:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    if issuer is not None:
        builder = builder.add_extension(_crl_distribution_point(issuer), critical=False)
        if key_identifiers:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
            )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
    if hash_name == "sha1":
        return Issued(cert=_sign_with_sha1(builder.sign(signer_key, hashes.SHA256()), signer_key), key=key)
    return Issued(cert=builder.sign(signer_key, _HASHES[hash_name]), key=key)


def _sign_with_sha1(cert: x509.Certificate, signer_key: PrivateKey) -> x509.Certificate:
    """Re-sign ``cert`` with SHA-1, which ``CertificateBuilder`` no longer offers.

    Old provincial certificates still carry sha1WithRSA; the verifier must flag them.
    The TBS structure is rebuilt with asn1crypto, the signature made by cryptography.
    """
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    is_ec = isinstance(signer_key, ec.EllipticCurvePrivateKey)
    algorithm = asn1_x509.SignedDigestAlgorithm({"algorithm": "sha1_ecdsa" if is_ec else "sha1_rsa"})
    tbs = parsed["tbs_certificate"].copy()
    tbs["signature"] = algorithm
    tbs_der = tbs.dump(force=True)
    if is_ec:
        signature = signer_key.sign(tbs_der, ec.ECDSA(hashes.SHA1()))
    else:
        signature = signer_key.sign(tbs_der, padding.PKCS1v15(), hashes.SHA1())
    resigned = asn1_x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": algorithm, "signature_value": signature}
    )
    return x509.load_der_x509_certificate(resigned.dump())


def _ca_pair(
    seed_name: str, key_size: int, root_cn: str, intermediate_cn: str, organisation: str
) -> tuple[Issued, Issued]:
    """A self-signed root and an intermediate (pathLen 0) under it."""
    start = datetime(2018, 8, 22, tzinfo=UTC)
    end = datetime(2048, 8, 14, tzinfo=UTC)
    root = _certify(
        _name((NameOID.COUNTRY_NAME, "VN"), (NameOID.ORGANIZATION_NAME, organisation), (NameOID.COMMON_NAME, root_cn)),
        new_key("rsa", key_size, f"{seed_name}:{root_cn}"),
        None,
        not_before=start,
        not_after=end,
        is_ca=True,
    )
    intermediate = _certify(
        _name(
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.ORGANIZATION_NAME, organisation),
            (NameOID.COMMON_NAME, intermediate_cn),
        ),
        new_key("rsa", key_size, f"{seed_name}:{intermediate_cn}"),
        root,
        not_before=start,
        not_after=end,
        is_ca=True,
        ca_path_length=0,
    )
    return root, intermediate


def build_pki(*, now: datetime | None = None, key_size: int = 2048, seed_name: str = "mau") -> SamplePKI:
    """Root → intermediate → TSA, and an untrusted twin hierarchy for negative cases.

    ``seed_name`` selects the pooled keys: the same name in one process reuses them,
    another name gives a hierarchy with fresh keys (same names, different CA).
    """
    now = now or datetime.now(UTC)
    root, intermediate = _ca_pair(
        seed_name, key_size, "RootCA chuyên dùng Chính phủ mẫu G2", "CA phục vụ các cơ quan Nhà nước mẫu G2", CA_ORG
    )
    untrusted_root, untrusted_intermediate = _ca_pair(
        seed_name, key_size, "CA tự lập không được tin cậy", "CA trung gian tự lập", "Công ty Chữ ký số Tự do (mẫu)"
    )
    return SamplePKI(
        root=root,
        intermediate=intermediate,
        tsa=_issue_tsa(intermediate, now, seed_name),
        untrusted_root=untrusted_root,
        untrusted_intermediate=untrusted_intermediate,
        now=now,
        seed_name=seed_name,
    )


def _leaf_validity(
    pki_now: datetime, not_before: datetime | None, not_after: datetime | None
) -> tuple[datetime, datetime]:
    start = not_before or datetime(pki_now.year - 3, 1, 1, tzinfo=UTC)
    return start, not_after or start + timedelta(days=365 * 6)


def _issue_tsa(intermediate: Issued, now: datetime, seed_name: str) -> Issued:
    start, end = _leaf_validity(now, None, None)
    return _certify(
        _name(
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.ORGANIZATION_NAME, CA_ORG),
            (NameOID.COMMON_NAME, "Dịch vụ cấp dấu thời gian mẫu"),
        ),
        new_key("rsa", 2048, f"{seed_name}:tsa"),
        intermediate,
        not_before=start,
        not_after=end + timedelta(days=3650),
        eku=ExtendedKeyUsageOID.TIME_STAMPING,
    )


def issue_tsa(pki: SamplePKI) -> Issued:
    """A time-stamping authority certificate (EKU timeStamping, critical) under the intermediate."""
    return _issue_tsa(pki.intermediate, pki.now, pki.seed_name)


def _issue_leaf(
    pki: SamplePKI,
    subject: x509.Name,
    *,
    slot: str,
    key: PrivateKey | None,
    key_type: str,
    not_before: datetime | None,
    not_after: datetime | None,
    usage: str,
    hash_name: str,
    issuer: Issued | None,
    key_identifiers: bool,
) -> Issued:
    start, end = _leaf_validity(pki.now, not_before, not_after)
    return _certify(
        subject,
        key or key_of_type(key_type, f"{pki.seed_name}:{slot}"),
        issuer or pki.intermediate,
        not_before=start,
        not_after=end,
        usage=usage,
        hash_name=hash_name,
        key_identifiers=key_identifiers,
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
    key_type: str = "rsa2048",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    usage: str = "sign",
    hash_name: str = "sha256",
    issuer: Issued | None = None,
    key_identifiers: bool = True,
) -> Issued:
    """A personal certificate: CN = the person, O = their agency, UID = CCCD:<12 digits>.

    ``usage`` is "sign" (digitalSignature + nonRepudiation) or "encrypt"
    (keyEncipherment only); ``key_type`` is a name from ``KEY_TYPES``.
    """
    cccd = citizen_id or str(int(hashlib.sha256(full_name.encode()).hexdigest(), 16))[:12]
    subject = _name(
        (NameOID.COUNTRY_NAME, "VN"),
        (NameOID.LOCALITY_NAME, locality),
        (NameOID.ORGANIZATION_NAME, agency),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, department or ""),
        (NameOID.COMMON_NAME, full_name),
        (NameOID.USER_ID, f"CCCD:{cccd}"),
    )
    return _issue_leaf(
        pki,
        subject,
        slot=f"person:{full_name}",
        key=key,
        key_type=key_type,
        not_before=not_before,
        not_after=not_after,
        usage=usage,
        hash_name=hash_name,
        issuer=issuer,
        key_identifiers=key_identifiers,
    )


def issue_organisation(
    pki: SamplePKI,
    name: str,
    *,
    organisation: str | None = "UBND tỉnh Bắc Kạn",
    locality: str = "Bắc Kạn",
    tax_code: str | None = None,
    key: PrivateKey | None = None,
    key_type: str = "rsa2048",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    usage: str = "sign",
    hash_name: str = "sha256",
    issuer: Issued | None = None,
    key_identifiers: bool = True,
) -> Issued:
    """An organisation certificate (replaces the seal): CN = the agency, O = its parent body."""
    subject = _name(
        (NameOID.COUNTRY_NAME, "VN"),
        (NameOID.LOCALITY_NAME, locality),
        (NameOID.ORGANIZATION_NAME, organisation or ""),
        (NameOID.COMMON_NAME, name),
        (NameOID.USER_ID, f"MST:{tax_code}" if tax_code else ""),
    )
    return _issue_leaf(
        pki,
        subject,
        slot=f"org:{name}",
        key=key,
        key_type=key_type,
        not_before=not_before,
        not_after=not_after,
        usage=usage,
        hash_name=hash_name,
        issuer=issuer,
        key_identifiers=key_identifiers,
    )


def revoke(pki: SamplePKI, issued: Issued, revoked_at: datetime) -> None:
    """List ``issued`` as revoked from ``revoked_at`` in the next CRL its issuer makes."""
    pki.revoked.append(Revocation(issued.cert.issuer, issued.cert.serial_number, revoked_at))


def make_crl(
    pki: SamplePKI,
    *,
    issuer: Issued | None = None,
    this_update: datetime | None = None,
    next_update: datetime | None = None,
) -> x509.CertificateRevocationList:
    """A CRL signed by ``issuer`` (the intermediate by default) listing its revocations so far."""
    issuer = issuer or pki.intermediate
    this_update = this_update or pki.now - timedelta(days=1)
    next_update = next_update or this_update + timedelta(days=30)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(int(this_update.timestamp())), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
    )
    for entry in pki.revoked:
        if entry.issuer == issuer.cert.subject:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(entry.serial).revocation_date(entry.revoked_at).build()
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
    root_crl = make_crl(pki, issuer=pki.root, this_update=this_update, next_update=next_update)
    (path / "ca-nha-nuoc-g2-mau.crl").write_bytes(intermediate_crl.public_bytes(der))
    (path / "root-g2-mau.crl.pem").write_bytes(root_crl.public_bytes(pem))
    return path
