"""CMS / PKCS#7 signatures as Vietnamese signing tools produce them, good and bad.

The structure is built with ``asn1crypto`` and every signature is made by
``cryptography``; nothing cryptographic is hand-written here. Options exist to
produce each kind of defect the verifier must recognise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from asn1crypto import algos, cms, pem, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from samples.pki import Issued

__all__ = ["sign_cms", "timestamp_token", "tamper", "to_ber_indefinite"]

_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha1": hashes.SHA1(),
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
    "md5": hashes.MD5(),
}


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _raw_sign(key: object, data: bytes, digest: str, scheme: str) -> tuple[bytes, dict[str, object]]:
    """Sign ``data`` and return the signature with its CMS algorithm identifier."""
    hash_algorithm = _HASHES[digest]
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hash_algorithm)), {"algorithm": f"{digest}_ecdsa"}
    assert isinstance(key, rsa.RSAPrivateKey)
    if scheme == "pss":
        salt = hash_algorithm.digest_size
        signature = key.sign(data, padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=salt), hash_algorithm)
        params = algos.RSASSAPSSParams(
            {
                "hash_algorithm": {"algorithm": digest},
                "mask_gen_algorithm": {
                    "algorithm": "mgf1",
                    "parameters": {"algorithm": digest},
                },
                "salt_length": salt,
                "trailer_field": "trailer_field_bc",
            }
        )
        return signature, {"algorithm": "rsassa_pss", "parameters": params}
    return key.sign(data, padding.PKCS1v15(), hash_algorithm), {"algorithm": "rsassa_pkcs1v15"}


def _signer_identifier(cert: x509.Certificate, sid: str) -> cms.SignerIdentifier:
    asn1_cert = _asn1_cert(cert)
    if sid == "ski":
        return cms.SignerIdentifier(name="subject_key_identifier", value=asn1_cert.key_identifier_value)
    return cms.SignerIdentifier(
        name="issuer_and_serial_number",
        value={"issuer": asn1_cert.issuer, "serial_number": asn1_cert.serial_number},
    )


def _signed_data(
    *,
    content_type: str,
    content: object,
    signer: Issued,
    certificates: Sequence[x509.Certificate],
    digest: str,
    scheme: str,
    sid: str,
    signed_attrs: list[dict[str, object]] | None,
    payload: bytes,
    corrupt_signature: bool = False,
    timestamp: tuple[Issued, datetime] | None = None,
) -> tuple[cms.SignedData, bytes]:
    """Assemble a SignedData; returns it and the signature value.

    With signed attributes the signature covers their DER SET; without, ``payload`` itself.
    """
    attributes = cms.CMSAttributes(signed_attrs) if signed_attrs is not None else None
    to_sign = attributes.dump() if attributes is not None else payload
    signature, algorithm = _raw_sign(signer.key, to_sign, digest, scheme)
    if corrupt_signature:
        broken = bytearray(signature)
        broken[len(broken) // 2] ^= 0xFF
        signature = bytes(broken)
    signer_info = {
        "version": "v3" if sid == "ski" else "v1",
        "sid": _signer_identifier(signer.cert, sid),
        "digest_algorithm": {"algorithm": digest},
        "signature_algorithm": algorithm,
        "signature": signature,
    }
    if attributes is not None:
        signer_info["signed_attrs"] = attributes
    if timestamp is not None:
        tsa, when = timestamp
        token = cms.ContentInfo.load(timestamp_token(signature, tsa, when))
        signer_info["unsigned_attrs"] = [{"type": "signature_time_stamp_token", "values": [token]}]
    # RFC 5652 §5.1: version 3 whenever the content is not id-data or the sid is an SKI.
    signed_data = cms.SignedData(
        {
            "version": "v3" if sid == "ski" or content_type != "data" else "v1",
            "digest_algorithms": [{"algorithm": digest}],
            "encap_content_info": {"content_type": content_type, "content": content},
            "certificates": [_asn1_cert(c) for c in certificates] or None,
            "signer_infos": [cms.SignerInfo(signer_info)],
        }
    )
    return signed_data, signature


def _signing_certificate_v2(issued: Issued) -> dict[str, object]:
    """The ESS signing-certificate-v2 attribute (RFC 5035) binding the signer's certificate."""
    cert_hash = hashlib.sha256(issued.der).digest()
    return {"type": "signing_certificate_v2", "values": [{"certs": [{"cert_hash": cert_hash}]}]}


def timestamp_token(data: bytes, tsa: Issued, when: datetime, digest: str = "sha256", *, serial: int = 1) -> bytes:
    """An RFC 3161 time-stamp token over ``data`` (usually a signature value), as DER ContentInfo."""
    tst_info = tsp.TSTInfo(
        {
            "version": "v1",
            "policy": "1.3.6.1.4.1.99999.1.1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": digest},
                "hashed_message": hashlib.new(digest, data).digest(),
            },
            "serial_number": serial,
            "gen_time": when.astimezone(UTC),
        }
    )
    tst_der = tst_info.dump()
    attrs = [
        {"type": "content_type", "values": ["tst_info"]},
        {"type": "signing_time", "values": [cms.Time(name="utc_time", value=when)]},
        {"type": "message_digest", "values": [hashlib.new(digest, tst_der).digest()]},
        _signing_certificate_v2(tsa),
    ]
    signed_data, _ = _signed_data(
        content_type="tst_info",
        content=tst_info,
        signer=tsa,
        certificates=[tsa.cert],
        digest=digest,
        scheme="pkcs1v15",
        sid="issuer_serial",
        signed_attrs=attrs,
        payload=tst_der,
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


def sign_cms(
    content: bytes,
    signer: Issued,
    *,
    detached: bool = True,
    digest: str = "sha256",
    scheme: str = "pkcs1v15",
    signed_attrs: bool = True,
    signing_time: datetime | None = None,
    extra_certs: Sequence[x509.Certificate] = (),
    embed_signer_cert: bool = True,
    sid: str = "issuer_serial",
    timestamp_by: Issued | None = None,
    timestamp_time: datetime | None = None,
    encoding: str = "der",
    signing_certificate_v2: bool = False,
    content_type_attr: str = "data",
    wrong_digest: bool = False,
    corrupt_signature: bool = False,
) -> bytes:
    """Sign ``content`` as a CMS SignedData and encode it (``der``, ``pem`` or ``ber-indefinite``).

    Signed attributes are content-type, signing-time (UTCTime), message-digest and,
    with ``signing_certificate_v2``, the ESS certificate binding. ``timestamp_by``
    adds an RFC 3161 signature timestamp as an unsigned attribute.
    ``wrong_digest``, ``corrupt_signature``, ``content_type_attr`` (e.g. "signed_data")
    and ``embed_signer_cert=False`` produce the defects a verifier must report.
    """
    signing_time = signing_time or datetime.now(UTC)
    message_digest = hashlib.new(digest, content).digest()
    if wrong_digest:
        message_digest = hashlib.new(digest, content + b"\x00").digest()
    attrs: list[dict[str, object]] | None = None
    if signed_attrs:
        attrs = [
            {"type": "content_type", "values": [content_type_attr]},
            {"type": "signing_time", "values": [cms.Time(name="utc_time", value=signing_time)]},
            {"type": "message_digest", "values": [message_digest]},
        ]
        if signing_certificate_v2:
            attrs.append(_signing_certificate_v2(signer))
    certificates = ([signer.cert] if embed_signer_cert else []) + list(extra_certs)
    signed_data, _ = _signed_data(
        content_type="data",
        content=None if detached else content,
        signer=signer,
        certificates=certificates,
        digest=digest,
        scheme=scheme,
        sid=sid,
        signed_attrs=attrs,
        payload=content,
        corrupt_signature=corrupt_signature,
        timestamp=(timestamp_by, timestamp_time or signing_time) if timestamp_by else None,
    )
    der = cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()
    if encoding == "pem":
        return pem.armor("PKCS7", der)
    if encoding == "ber-indefinite":
        return to_ber_indefinite(der)
    return der


def tamper(data: bytes, at: float = 0.5) -> bytes:
    """Flip one byte of ``data`` (at a relative position), as a careless edit would."""
    position = min(len(data) - 1, max(0, int(len(data) * at)))
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


def _read_tlv(data: bytes, offset: int) -> tuple[int, int, int]:
    """(header length, content length, tag byte) of the DER element at ``offset``."""
    tag = data[offset]
    length_byte = data[offset + 1]
    if length_byte < 0x80:
        return 2, length_byte, tag
    count = length_byte & 0x7F
    length = int.from_bytes(data[offset + 2 : offset + 2 + count], "big")
    return 2 + count, length, tag


def to_ber_indefinite(der: bytes, depth: int = 3) -> bytes:
    """Re-encode the outer ``depth`` levels of constructed values with indefinite lengths.

    Older signing tools stream their output this way. Inner levels (signed
    attributes, certificates) stay DER so the signature still verifies.
    """

    def encode(offset: int, level: int) -> tuple[bytes, int]:
        header, length, tag = _read_tlv(der, offset)
        end = offset + header + length
        if level >= depth or not tag & 0x20:
            return der[offset:end], end
        parts = [bytes([tag, 0x80])]
        child = offset + header
        while child < end:
            encoded, child = encode(child, level + 1)
            parts.append(encoded)
        parts.append(b"\x00\x00")
        return b"".join(parts), end

    encoded, _ = encode(0, 0)
    return encoded
