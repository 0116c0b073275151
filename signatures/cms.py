"""CMS / PKCS#7 SignedData: decoding, finding the signer, and checking one SignerInfo.

The usual DER shape is located by ``cmsparts``' fast walk; anything else is parsed by
``asn1crypto`` (which reads BER with indefinite lengths as well as DER), and values are
always decoded by ``asn1crypto``. Every signature is verified by ``cryptography``.
Nothing here knows about certificate paths or trust.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from asn1crypto import cms, core, pem
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa, utils

from signatures.algorithms import algorithm_refusal
from signatures.certinfo import CertInfo, quiet_cryptography
from signatures.cmsparts import (
    SignedAttributes,
    SignedParts,
    SignerParts,
    Unusual,
    algorithm_names,
    as_set,
    der_signed_attributes,
    read_signed_attributes,
    read_signed_parts,
)
from signatures.decide import Finding, failed, passed, skipped
from signatures.keytypes import DSAPublicKey
from signatures.signer import find_signer, no_signer_finding
from signatures.verdict import CheckName, SubIndication

__all__ = [
    "CmsFormatError",
    "ContentDigests",
    "SignerCheck",
    "read_signed",
    "load_signed_data",
    "embedded_certificates",
    "encapsulated_content",
    "check_signer",
]

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha3_224": hashes.SHA3_224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
    "sha3_256": hashes.SHA3_256,
    "sha3_384": hashes.SHA3_384,
    "sha3_512": hashes.SHA3_512,
}


_XOF_LENGTHS = {"shake128": 32, "shake256": 64, "shake128_len": 32, "shake256_len": 64}
"""RFC 8419/8702 output lengths (bytes) for the extendable-output digests used with EdDSA."""
SUPPORTED_DIGESTS = frozenset(_HASHES) | frozenset(_XOF_LENGTHS)


class CmsFormatError(ValueError):
    """The input is not a readable CMS SignedData; the message is a plain-words reason.

    ``detail`` keeps the parser's own words for the verdict's checks, never for its reason.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.detail = detail


def read_signed(data: bytes) -> SignedParts:
    """The parts of a CMS/PKCS#7 SignedData (DER, BER, PEM or base64) that verification reads."""
    der = _decode_armour(data)
    try:
        return read_signed_parts(der)
    except Unusual:
        signed_data = _load_der(der)  # asn1crypto's full parse reads the rest, or says plainly why not
    content_type, content = encapsulated_content(signed_data)
    return SignedParts(
        content_type,
        content,
        embedded_certificates(signed_data),
        tuple(info.dump() for info in signed_data["signer_infos"]),
    )


def load_signed_data(data: bytes) -> cms.SignedData:
    return _load_der(_decode_armour(data))


def _load_der(der: bytes) -> cms.SignedData:
    try:
        info = cms.ContentInfo.load(der, strict=False)
        content_type = info["content_type"].native
    except (ValueError, TypeError, KeyError) as error:
        raise CmsFormatError("the file is not a CMS/PKCS#7 structure", f"{type(error).__name__}: {error}") from error
    if content_type != "signed_data":
        raise CmsFormatError(f"the CMS structure holds '{content_type}', not signed data")
    signed_data = info["content"]
    if len(signed_data["signer_infos"]) == 0:
        raise CmsFormatError("the CMS structure carries no signature (no SignerInfo)")
    return signed_data


def _decode_armour(data: bytes) -> bytes:
    stripped = data.strip()
    if stripped.startswith(b"-----BEGIN"):
        try:
            return bytes(pem.unarmor(stripped)[2])
        except ValueError as error:
            raise CmsFormatError("the PEM armour is broken", f"{type(error).__name__}: {error}") from error
    if stripped[:1] in (b"M", b"m") and b"\x00" not in stripped[:64]:
        # S/MIME .p7m files are often plain base64 of the DER.
        try:
            return base64.b64decode(stripped, validate=False)
        except (binascii.Error, ValueError):
            return data
    return data


def embedded_certificates(signed_data: cms.SignedData) -> tuple[bytes, ...]:
    certificates = signed_data["certificates"]
    if not certificates:
        return ()
    return tuple(choice.chosen.dump() for choice in certificates if choice.name == "certificate")


def encapsulated_content(signed_data: cms.SignedData) -> tuple[str, bytes | None]:
    encap = signed_data["encap_content_info"]
    return encap["content_type"].native, _octets(encap["content"])


def _octets(content: object) -> bytes | None:
    if isinstance(content, core.Void):
        return None
    if isinstance(content, core.OctetString):
        return bytes(content.native)
    if isinstance(content, core.ParsableOctetString):
        # Non-data content (e.g. TSTInfo) is signed over its encoding, not its native form.
        return bytes(content)
    # PKCS#7 v1.5 explicit content (e.g. Authenticode): the digest covers the inner value's contents octets.
    return bytes(content.contents)  # type: ignore[attr-defined]


class ContentDigests:
    """Hashes of one content, computed once per digest algorithm."""

    def __init__(self, content: bytes) -> None:
        self.content = content
        self._digests: dict[str, bytes] = {}

    def of(self, algorithm: str) -> bytes:
        if algorithm not in self._digests:
            self._digests[algorithm] = _digest(algorithm, self.content)
        return self._digests[algorithm]


def _digest(algorithm: str, data: bytes) -> bytes:
    if algorithm in _XOF_LENGTHS:
        xof = hashlib.shake_128 if algorithm.startswith("shake128") else hashlib.shake_256
        return xof(data).digest(_XOF_LENGTHS[algorithm])
    return hashlib.new(algorithm.replace("_", "-"), data).digest()


@dataclass
class SignerCheck:
    findings: list[Finding] = field(default_factory=list)
    signer: CertInfo | None = None
    digest_algorithm: str | None = None
    signature_algorithm: str | None = None
    signing_time_attribute: datetime | None = None
    signature_value: bytes = b""
    pss: tuple[str, str, int] | None = None
    """(hash, MGF1 hash, salt length) for RSASSA-PSS signatures."""

    @property
    def intact(self) -> bool:
        return not any(finding.is_failure for finding in self.findings)


def _structure_finding(attributes: SignedAttributes | None) -> Finding:
    if attributes is None or not attributes.repeated:
        return passed(CheckName.STRUCTURE)
    return failed(
        CheckName.STRUCTURE,
        SubIndication.FORMAT_FAILURE,
        f"The signature repeats signed attributes that may appear only once ({', '.join(attributes.repeated)}); it "
        "is refused, because a verifier could read either value. Ask the sender to re-sign.",
    )


def _unknown_digest(algorithm: str | None) -> Finding:
    return failed(
        CheckName.MESSAGE_DIGEST,
        SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
        f"The signature uses the digest algorithm '{algorithm}', which docflow cannot check.",
    )


_NO_DOCUMENT = failed(
    CheckName.MESSAGE_DIGEST,
    SubIndication.SIGNED_DATA_NOT_FOUND,
    "The signature is detached and the signed document was not supplied; verify it together with its document.",
)


def check_signer(
    signer_info: SignerParts,
    *,
    content_type: str,
    digests: ContentDigests | None,
    embedded: tuple[bytes, ...],
    store: tuple[bytes, ...],
) -> SignerCheck:
    """Structure, signer certificate, content-type, message-digest and signature-value checks.

    The signer certificate is looked for among the ``embedded`` certificates, then the ``store``'s.
    Every check that can still mean something is made, so a verdict lists every problem found.
    """
    result = SignerCheck()
    names = algorithm_names(signer_info.digest_algorithm, signer_info.signature_algorithm)
    result.digest_algorithm = names.digest
    result.signature_algorithm = names.signature
    result.signature_value = signer_info.signature
    result.pss = names.pss
    encoded_attrs = signer_info.signed_attrs
    attributes = read_signed_attributes(encoded_attrs) if encoded_attrs is not None else None
    result.findings.append(_structure_finding(attributes))
    result.signer = find_signer(signer_info.sid, embedded, store)
    if result.signer is None:
        result.findings.append(no_signer_finding(signer_info.sid, embedded))
        return result
    result.findings.append(passed(CheckName.SIGNER_CERTIFICATE))
    with_attributes = encoded_attrs is not None and attributes is not None and attributes.count > 0
    if result.digest_algorithm not in SUPPORTED_DIGESTS:
        result.findings.append(_unknown_digest(result.digest_algorithm))
        return result
    refusal = algorithm_refusal(names, result.signer.public_key)
    mismatch = refusal.check.detail if refusal is not None else None
    if refusal is not None:
        result.findings.append(refusal)
    if digests is None:
        result.findings.append(_NO_DOCUMENT)
        if with_attributes and mismatch is None:
            # The signature value covers the attributes, not the document: it can still be checked.
            _check_signature_value(result, as_set(encoded_attrs), None, encoded_attrs)  # type: ignore[arg-type]
        return result
    if with_attributes and attributes is not None and encoded_attrs is not None:
        _check_with_attributes(
            result,
            attributes,
            encoded_attrs,
            content_type,
            digests,
            check_value=mismatch is None,
        )
    elif mismatch is None:
        _check_without_attributes(result, digests)
    return result


def _check_without_attributes(result: SignerCheck, digests: ContentDigests) -> None:
    result.findings.append(skipped(CheckName.CONTENT_TYPE, "no signed attributes: the content itself is signed"))
    result.findings.append(skipped(CheckName.MESSAGE_DIGEST, "no signed attributes: the content itself is signed"))
    digest = digests.of(result.digest_algorithm or "")
    _check_signature_value(result, digests.content, digest)


def _check_with_attributes(
    result: SignerCheck,
    attributes: SignedAttributes,
    encoded: bytes,
    content_type: str,
    digests: ContentDigests,
    *,
    check_value: bool = True,
) -> None:
    """``encoded``: the signed attributes' [0] IMPLICIT field as written in the SignerInfo."""
    declared_type = attributes.content_type
    result.findings.append(
        _attribute_finding(
            CheckName.CONTENT_TYPE,
            "content-type",
            declared_type,
            content_type,
            f"The signature says it signs '{declared_type}' but the content is '{content_type}'.",
        )
    )
    result.findings.append(
        _attribute_finding(
            CheckName.MESSAGE_DIGEST,
            "message-digest",
            attributes.message_digest,
            digests.of(result.digest_algorithm or ""),
            "The document was changed after it was signed (its digest no longer matches the signature).",
        )
    )
    if attributes.signing_time is not None:
        result.signing_time_attribute = attributes.signing_time.astimezone(UTC)
    if check_value:
        _check_signature_value(result, as_set(encoded), None, encoded)


def _attribute_finding(
    name: CheckName, label: str, declared: object, expected: object, mismatch_reason: str
) -> Finding:
    if declared is None:
        return failed(
            name,
            SubIndication.FORMAT_FAILURE,
            f"The signature's signed attributes lack the mandatory {label} attribute.",
        )
    if declared != expected:
        return failed(name, SubIndication.HASH_FAILURE, mismatch_reason)
    return passed(name)


def _check_signature_value(
    result: SignerCheck, message: bytes, message_digest: bytes | None, attributes: bytes | None = None
) -> None:
    """``attributes``: the signed attributes as written, when ``message`` is their SET."""
    assert result.signer is not None
    key = result.signer.public_key
    try:
        try:
            _verify(key, result, message, message_digest)
        except InvalidSignature:
            # RFC 5652 §5.4: the signature covers the DER of the attributes; a signer that wrote them in
            # BER (indefinite lengths, unsorted) signed that DER, not the bytes it wrote. Same values either way.
            der = der_signed_attributes(attributes) if attributes is not None else None
            if der is None or der == message:
                raise
            _verify(key, result, der, None)
    except InvalidSignature:
        result.findings.append(
            failed(
                CheckName.SIGNATURE_VALUE,
                SubIndication.SIG_CRYPTO_FAILURE,
                "The signature value does not match the signer's key: the signature or the document was altered.",
            )
        )
        return
    except (UnsupportedAlgorithm, ValueError, TypeError, KeyError) as error:
        result.findings.append(
            failed(
                CheckName.SIGNATURE_VALUE,
                SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
                f"The signature uses an algorithm or key docflow cannot check ({result.signature_algorithm}).",
                detail=f"{type(error).__name__}: {error}",
            )
        )
        return
    result.findings.append(passed(CheckName.SIGNATURE_VALUE))


def _verify(key: object, result: SignerCheck, message: bytes, message_digest: bytes | None) -> None:
    signature = result.signature_value
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        key.verify(signature, message)
        return
    hash_name = result.pss[0] if result.pss else result.digest_algorithm or ""
    hash_algorithm: hashes.HashAlgorithm = _HASHES[hash_name]()
    algorithm: hashes.HashAlgorithm | utils.Prehashed
    # A digest already made (the content's, when nothing else is signed) is reused; otherwise
    # cryptography hashes the message itself. PSS may name a hash other than the content digest's.
    if message_digest is None or result.pss:
        payload, algorithm = message, hash_algorithm
    else:
        payload, algorithm = message_digest, utils.Prehashed(hash_algorithm)
    if isinstance(key, rsa.RSAPublicKey) and result.pss:
        pss = padding.PSS(mgf=padding.MGF1(_HASHES[result.pss[1]]()), salt_length=result.pss[2])
        key.verify(signature, payload, pss, algorithm)
    elif isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, payload, padding.PKCS1v15(), algorithm)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, payload, ec.ECDSA(algorithm))
    elif isinstance(key, DSAPublicKey):
        with quiet_cryptography():  # DSA still verifies; the library's deprecation notice is not the reader's
            key.verify(signature, payload, algorithm)
    else:
        raise TypeError(f"unsupported public key type {type(key).__name__}")
