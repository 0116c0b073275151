"""Which certificate made a signature: the SignerIdentifier matched against the embedded and trust-store certificates.

When none matches, the finding says whether the signer's certificate is missing or present but unreadable.
"""

from __future__ import annotations

from functools import lru_cache

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509

from signatures.certinfo import CertInfo, cert_info
from signatures.decide import Finding, failed
from signatures.verdict import CheckName, SubIndication

__all__ = ["find_signer", "no_signer_finding"]


def no_signer_finding(sid: bytes, embedded: tuple[bytes, ...]) -> Finding:
    if _malformed_match(sid, embedded):
        return failed(
            CheckName.SIGNER_CERTIFICATE,
            SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
            "The signer's certificate is in the signature but malformed, so it cannot be used; ask the "
            "signer's CA or signing tool for a correctly encoded certificate and re-sign.",
            "the certificate the signer identifier names is embedded but cannot be parsed",
        )
    return failed(
        CheckName.SIGNER_CERTIFICATE,
        SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
        "The signer's certificate is neither in the signature nor in the trust store; ask the sender "
        "to re-sign with the certificate embedded.",
    )


def _malformed_match(sid: bytes, embedded: tuple[bytes, ...]) -> bool:
    """Whether an embedded certificate that ``cryptography`` refuses is the one the signer identifier names.

    asn1crypto reads such certificates leniently enough to compare issuer, serial and key identifier.
    """
    identifier = cms.SignerIdentifier.load(sid)
    for der in embedded:
        try:
            cert_info(der)
            continue
        except ValueError:
            pass
        try:
            if _matches(identifier, asn1_x509.Certificate.load(der)):
                return True
        except (ValueError, TypeError, KeyError):
            continue
    return False


def find_signer(sid: bytes, embedded: tuple[bytes, ...], store: tuple[bytes, ...]) -> CertInfo | None:
    for candidates in (embedded, store):
        index = _signer_index(sid, candidates)
        if index is not None:
            return cert_info(candidates[index])
    return None


@lru_cache(maxsize=4096)
def _signer_index(sid: bytes, candidates: tuple[bytes, ...]) -> int | None:
    """Which candidate the SignerIdentifier names; None when none does.

    Cached because a signer sends the same identifier and certificates with every document, and
    the answer depends on nothing but these bytes; it saves parsing the identifier and comparing names.
    """
    identifier = cms.SignerIdentifier.load(sid)
    for index, der in enumerate(candidates):
        try:
            if _matches(identifier, cert_info(der).asn1()):
                return index
        except (ValueError, TypeError):
            continue
    return None


def _matches(sid: cms.SignerIdentifier, certificate: object) -> bool:
    if sid.name == "issuer_and_serial_number":
        wanted = sid.chosen
        if certificate.serial_number != wanted["serial_number"].native:  # type: ignore[attr-defined]
            return False
        issuer = wanted["issuer"]
        # Byte equality settles the usual case; the RFC 5280 name comparison is slow and only needed
        # when a tool re-encoded the issuer name (e.g. PrintableString vs UTF8String).
        return bool(certificate.issuer.dump() == issuer.dump() or certificate.issuer == issuer)  # type: ignore[attr-defined]
    return bool(certificate.key_identifier == sid.chosen.native)  # type: ignore[attr-defined]
