"""Locating the parts of a CMS SignedData by walking its DER headers, without asn1crypto's object model.

Why: building asn1crypto objects for every field was most of the cost of a verification
(profiled: over half of ``verify_cms`` on a 100 KB document, hashing and RSA included). The
walk only *locates* parts; values are still decoded by asn1crypto classes applied to each
part's exact bytes, cached where those bytes repeat from one signature to the next
(algorithm identifiers, content types, signer identifiers).

The walk reads only DER's usual shape (low tag numbers, definite lengths, fields where
RFC 5652 puts them). Anything else raises ``Unusual`` and the caller falls back to
asn1crypto's full parse, so odd-but-readable input (BER, PKCS#7 v1.5) reads exactly as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from asn1crypto import algos, cms, core

__all__ = [
    "Unusual",
    "SignedParts",
    "SignerParts",
    "SignedAttributes",
    "AlgorithmNames",
    "read_signed_parts",
    "read_signer_parts",
    "read_signed_attributes",
    "algorithm_names",
    "content_type_name",
    "as_set",
    "der_signed_attributes",
]

# Identifier octets (class, constructed bit and tag in one byte), as DER writes them.
_INTEGER, _OCTET_STRING, _OID, _SEQUENCE, _SET = 0x02, 0x04, 0x06, 0x30, 0x31
_UTC_TIME, _GENERALIZED_TIME = 0x17, 0x18
_CONTEXT_0, _CONTEXT_1, _CONTEXT_0_PRIMITIVE = 0xA0, 0xA1, 0x80
_CERTIFICATE_CHOICES = (_SEQUENCE, 0xA0, 0xA1, 0xA2, 0xA3)
"""RFC 5652 CertificateChoices: a certificate, or one of four [n] IMPLICIT alternatives."""
_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")
_CONTENT_TYPE_OID = bytes.fromhex("06092a864886f70d010903")
_MESSAGE_DIGEST_OID = bytes.fromhex("06092a864886f70d010904")
_SIGNING_TIME_OID = bytes.fromhex("06092a864886f70d010905")
_MAX_LENGTH_OCTETS = 4
"""Lengths up to 4 GiB; anything longer is not a signature docflow accepts anyway."""


class Unusual(Exception):
    """The input is not in the usual shape the walk reads; use asn1crypto's full parse instead."""


Element = tuple[int, int, int, int]
"""One element: its identifier octet, and where its header starts, its body starts and it ends in the buffer
it was read from (no copy until sliced). A plain tuple, read by position ([0] identifier, [1] start, [2] body,
[3] end): about a tenth of the cost of building a NamedTuple, and a signature has some 30 elements."""


def _element(data: bytes, start: int = 0, end: int | None = None) -> Element:
    """The element whose header is at ``start`` (bytes after ``end`` are ignored, as asn1crypto does)."""
    found = _elements(data, start, len(data) if end is None else end, single=True)
    if not found:
        raise Unusual("no element where one was expected")
    return found[0]


def _children(data: bytes, parent: Element) -> list[Element]:
    if not parent[0] & 0x20:
        raise Unusual("primitive where a constructed element was expected")
    return _elements(data, parent[2], parent[3])


def _elements(data: bytes, position: int, end: int, single: bool = False) -> list[Element]:
    """The elements from ``position`` to ``end``, or the first only. Each header is read here, in the loop:
    a call per element was about a third of the walk."""
    found: list[Element] = []
    while position < end:
        identifier = data[position]
        if identifier & 0x1F == 0x1F:
            raise Unusual("high tag number")
        length = data[position + 1]
        body = position + 2
        if length & 0x80:
            octets = length & 0x7F
            if not 0 < octets <= _MAX_LENGTH_OCTETS:
                raise Unusual("indefinite or oversized length")
            length = int.from_bytes(data[body : body + octets], "big")
            body += octets
        if body + length > end:
            raise Unusual("element runs past its container")
        found.append((identifier, position, body, body + length))
        if single:
            break
        position = body + length
    return found


def _expect(element: Element, *identifiers: int) -> Element:
    if element[0] not in identifiers:
        raise Unusual(f"found identifier {element[0]:#x} where {identifiers} was expected")
    return element


def _encoded(data: bytes, element: Element) -> bytes:
    return data[element[1] : element[3]]


def _contents(data: bytes, element: Element) -> bytes:
    return data[element[2] : element[3]]


def as_set(encoded: bytes) -> bytes:
    """An IMPLICIT [n] SET OF re-tagged as the SET it stands for (signed attributes are signed as a SET)."""
    return b"\x31" + encoded[1:]


# -- SignedData -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedParts:
    """What verification needs from one SignedData."""

    content_type: str
    content: bytes | None
    """The encapsulated content, or None for a detached signature (the walk reads only detached ones)."""
    certificates: tuple[bytes, ...]
    signer_infos: tuple[bytes, ...]
    """DER of each SignerInfo, in order."""


def read_signed_parts(der: bytes) -> SignedParts:
    """Raises Unusual when the walk cannot read ``der``; the caller then uses asn1crypto."""
    try:
        return _walk_signed_data(der)
    except (ValueError, TypeError, IndexError) as error:  # truncated input, or a bad OID
        raise Unusual(str(error)) from error


def _walk_signed_data(der: bytes) -> SignedParts:
    content_info = _children(der, _expect(_element(der), _SEQUENCE))
    if len(content_info) != 2 or _encoded(der, content_info[0]) != _SIGNED_DATA_OID:
        raise Unusual("not signed data")
    explicit = _expect(content_info[1], _CONTEXT_0)
    signed_data = _expect(_element(der, explicit[2], explicit[3]), _SEQUENCE)
    fields = _children(der, signed_data)
    _expect(fields[0], _INTEGER)
    _expect(fields[1], _SET)
    encapsulated = _children(der, _expect(fields[2], _SEQUENCE))
    optional = fields[3:-1]
    if [field[0] for field in optional] not in ([], [_CONTEXT_0], [_CONTEXT_1], [_CONTEXT_0, _CONTEXT_1]):
        raise Unusual("unexpected SignedData fields")
    certificates: tuple[bytes, ...] = ()
    if optional and optional[0][0] == _CONTEXT_0:
        choices = [_expect(choice, *_CERTIFICATE_CHOICES) for choice in _children(der, optional[0])]
        # Only plain certificates (SEQUENCE) are used; attribute and other certificates are not.
        certificates = tuple(_encoded(der, choice) for choice in choices if choice[0] == _SEQUENCE)
    signer_infos = _children(der, _expect(fields[-1], _SET))
    infos = tuple(_encoded(der, _expect(info, _SEQUENCE)) for info in signer_infos)
    if not infos or len(encapsulated) != 1:
        # No SignerInfo: asn1crypto's path says so in plain words. Attached content has several
        # encodings (CMS OCTET STRING, PKCS#7 ANY), which asn1crypto reads.
        raise Unusual("no SignerInfo, or attached content")
    content_type = content_type_name(_encoded(der, _expect(encapsulated[0], _OID)))
    return SignedParts(content_type, None, certificates, infos)


@lru_cache(maxsize=256)
def content_type_name(oid_der: bytes) -> str:
    """Content types repeat across signatures: decode each distinct OID once."""
    return str(cms.ContentType.load(oid_der).native)


# -- SignerInfo -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignerParts:
    """One SignerInfo's parts, each as its own encoding."""

    sid: bytes
    digest_algorithm: bytes
    signed_attrs: bytes | None
    """The [0] IMPLICIT field as encoded, or None when absent."""
    signature_algorithm: bytes
    signature: bytes
    """The signature value itself."""
    unsigned_attrs: bytes | None


def read_signer_parts(der: bytes) -> SignerParts:
    try:
        return _walk_signer_info(der)
    except (Unusual, ValueError, TypeError, IndexError):
        return _signer_parts_by_asn1crypto(der)


def _walk_signer_info(der: bytes) -> SignerParts:
    fields = _children(der, _expect(_element(der), _SEQUENCE))
    _expect(fields[0], _INTEGER)
    sid = _expect(fields[1], _SEQUENCE, _CONTEXT_0_PRIMITIVE)  # issuerAndSerialNumber or subjectKeyIdentifier
    rest = fields[3:]
    signed_attrs = _encoded(der, rest.pop(0)) if rest and rest[0][0] == _CONTEXT_0 else None
    unsigned_attrs = _encoded(der, rest.pop()) if rest and rest[-1][0] == _CONTEXT_1 else None
    if len(rest) != 2:
        raise Unusual("unexpected SignerInfo fields")
    return SignerParts(
        sid=_encoded(der, sid),
        digest_algorithm=_encoded(der, _expect(fields[2], _SEQUENCE)),
        signed_attrs=signed_attrs,
        signature_algorithm=_encoded(der, _expect(rest[0], _SEQUENCE)),
        signature=_contents(der, _expect(rest[1], _OCTET_STRING)),
        unsigned_attrs=unsigned_attrs,
    )


def _signer_parts_by_asn1crypto(der: bytes) -> SignerParts:
    info = cms.SignerInfo.load(der, strict=False)
    # Read in the order verification uses them, so a malformed one is named as it always was.
    digest_algorithm, signature_algorithm = info["digest_algorithm"].dump(), info["signature_algorithm"].dump()
    signature, sid = info["signature"].native, info["sid"].dump()
    signed, unsigned = info["signed_attrs"], info["unsigned_attrs"]
    return SignerParts(
        sid=sid,
        digest_algorithm=digest_algorithm,
        signed_attrs=None if isinstance(signed, core.Void) else signed.dump(),
        signature_algorithm=signature_algorithm,
        signature=signature,
        unsigned_attrs=None if isinstance(unsigned, core.Void) else unsigned.dump(),
    )


@dataclass(frozen=True)
class AlgorithmNames:
    digest: str | None
    signature: str
    pss: tuple[str, str, int] | None
    """(hash, MGF1 hash, salt length) for RSASSA-PSS signatures."""
    signature_hash: str | None = None
    """The hash a combined signature identifier names (``sha256WithRSAEncryption`` → sha256), else None."""


@lru_cache(maxsize=1024)
def algorithm_names(digest_algorithm: bytes, signature_algorithm: bytes) -> AlgorithmNames:
    """A signer uses the same few algorithm identifiers for every document: decode each pair once."""
    digest = algos.DigestAlgorithm.load(digest_algorithm)["algorithm"].native
    signature = algos.SignedDigestAlgorithm.load(signature_algorithm)
    try:
        signature_name = signature.signature_algo
    except ValueError:
        signature_name = str(signature["algorithm"].native)
    pss = _pss_parameters(signature) if signature_name == "rsassa_pss" else None
    try:
        signature_hash = signature.hash_algo
    except ValueError:  # a bare key algorithm (rsaEncryption, EdDSA, PSS): the digest algorithm rules
        signature_hash = None
    # asn1crypto does not name the SHA-3 combined identifiers (NIST CSOR): without this they would be unknown
    # algorithms, and their hash could never be held against the digest algorithm.
    signature_name, signature_hash = _SHA3_SIGNATURES.get(
        signature["algorithm"].dotted, (signature_name, signature_hash)
    )
    return AlgorithmNames(digest, signature_name, pss, signature_hash)


_SHA3_SIGNATURES: dict[str, tuple[str, str]] = {
    "2.16.840.1.101.3.4.3.9": ("ecdsa", "sha3_224"),
    "2.16.840.1.101.3.4.3.10": ("ecdsa", "sha3_256"),
    "2.16.840.1.101.3.4.3.11": ("ecdsa", "sha3_384"),
    "2.16.840.1.101.3.4.3.12": ("ecdsa", "sha3_512"),
    "2.16.840.1.101.3.4.3.13": ("rsassa_pkcs1v15", "sha3_224"),
    "2.16.840.1.101.3.4.3.14": ("rsassa_pkcs1v15", "sha3_256"),
    "2.16.840.1.101.3.4.3.15": ("rsassa_pkcs1v15", "sha3_384"),
    "2.16.840.1.101.3.4.3.16": ("rsassa_pkcs1v15", "sha3_512"),
}
"""id-ecdsa-with-sha3-* and id-rsassa-pkcs1-v1_5-with-sha3-*: the signature family and the hash each names."""


def _pss_parameters(algorithm: algos.SignedDigestAlgorithm) -> tuple[str, str, int]:
    parameters = algorithm["parameters"]
    hash_name = parameters["hash_algorithm"]["algorithm"].native
    mgf_hash = parameters["mask_gen_algorithm"]["parameters"]["algorithm"].native
    return hash_name, mgf_hash, int(parameters["salt_length"].native)


# -- signed attributes ------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedAttributes:
    count: int
    content_type: str | None
    message_digest: bytes | None
    signing_time: datetime | None
    """Each None when the attribute is absent or does not hold exactly one value."""
    repeated: tuple[str, ...] = ()
    """Those of the three that appear more than once or with other than one value (RFC 5652 §11 forbids it)."""


def read_signed_attributes(encoded: bytes) -> SignedAttributes:
    """The three attributes verification reads, from the [0] IMPLICIT field's encoding."""
    try:
        return _walk_attributes(encoded)
    except (Unusual, ValueError, TypeError, IndexError):
        return _attributes_by_asn1crypto(encoded)


def _walk_attributes(encoded: bytes) -> SignedAttributes:
    attributes = _children(encoded, _element(encoded))
    found: dict[bytes, object] = {}
    repeated: list[str] = []
    for attribute in attributes:
        kind, values = _children(encoded, _expect(attribute, _SEQUENCE))
        oid = _encoded(encoded, _expect(kind, _OID))
        _expect(values, _SET)
        if oid in _SINGLE_VALUED:
            members = _children(encoded, values)
            if len(members) != 1 or oid in found:
                repeated.append(_SINGLE_VALUED[oid])
            if len(members) == 1:
                found[oid] = _attribute_value(oid, encoded, members[0])
    time = found.get(_SIGNING_TIME_OID)
    return SignedAttributes(
        count=len(attributes),
        content_type=found.get(_CONTENT_TYPE_OID),  # type: ignore[arg-type]
        message_digest=found.get(_MESSAGE_DIGEST_OID),  # type: ignore[arg-type]
        signing_time=time if isinstance(time, datetime) else None,
        repeated=tuple(dict.fromkeys(repeated)),
    )


_SINGLE_VALUED = {
    _CONTENT_TYPE_OID: "content-type",
    _MESSAGE_DIGEST_OID: "message-digest",
    _SIGNING_TIME_OID: "signing-time",
}
"""RFC 5652 §11: each of these appears once in the signed attributes, with exactly one value."""


def _attribute_value(oid: bytes, data: bytes, value: Element) -> object:
    if oid == _CONTENT_TYPE_OID:
        return content_type_name(_encoded(data, _expect(value, _OID)))
    if oid == _MESSAGE_DIGEST_OID:
        return _contents(data, _expect(value, _OCTET_STRING))
    _expect(value, _UTC_TIME, _GENERALIZED_TIME)
    return _der_time(value[0], _contents(data, value)) or cms.Time.load(_encoded(data, value)).native


_DER_UTC_TIME = re.compile(rb"(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z")
_DER_GENERALIZED_TIME = re.compile(rb"(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z")


def _der_time(tag: int, text: bytes) -> datetime | None:
    """The DER form of a time (whole seconds, UTC); None for any other form, which asn1crypto reads.

    Saves ~10 µs a signature over asn1crypto's general parser (fractions, offsets, BER forms).
    """
    match = (_DER_UTC_TIME if tag == _UTC_TIME else _DER_GENERALIZED_TIME).fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = map(int, match.groups())
    if tag == _UTC_TIME:
        year += 2000 if year < 50 else 1900  # RFC 5280 §4.1.2.5.1, as asn1crypto reads it
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:  # e.g. month 13, or year 0: asn1crypto decides
        return None


def _attributes_by_asn1crypto(encoded: bytes) -> SignedAttributes:
    attributes = cms.CMSAttributes.load(as_set(encoded), strict=False)
    values: dict[str, object] = {}
    repeated: list[str] = []
    for attribute in attributes:
        name = attribute["type"].native
        if name in ("content_type", "message_digest", "signing_time"):
            if len(attribute["values"]) != 1 or name in values:
                repeated.append(name.replace("_", "-"))
            if len(attribute["values"]) == 1:
                values[name] = attribute["values"][0].native
    time = values.get("signing_time")
    return SignedAttributes(
        count=len(attributes),
        content_type=values.get("content_type"),  # type: ignore[arg-type]
        message_digest=values.get("message_digest"),  # type: ignore[arg-type]
        signing_time=time if isinstance(time, datetime) else None,
        repeated=tuple(dict.fromkeys(repeated)),
    )


def der_signed_attributes(encoded: bytes) -> bytes | None:
    """The DER re-encoding of signed attributes as the SET they stand for; None when unreadable.

    RFC 5652 §5.4: the signature covers the DER encoding of the SET, whatever encoding the
    signer wrote into the SignerInfo (BER lengths, unsorted members).
    """
    try:
        return bytes(cms.CMSAttributes.load(as_set(encoded), strict=False).dump(force=True))
    except (ValueError, TypeError):
        return None
