"""Revoked serials of one CRL, indexed once, so a lookup never walks the list.

Why: a CRL of a million entries made every verification walk all of it, in
pyhanko-certvalidator (asn1crypto objects for each entry, 9–16 s and up to 0.9 GB) and in
``cryptography``'s lookup by serial. The index walks the DER headers once and keeps, per
entry, one 64-bit word: 32 bits of the serial's hash and the entry's 32-bit offset in the
CRL, sorted. A lookup is a binary search (about 20 probes for a million entries) and the
entry found is confirmed and decoded from the CRL's own bytes, so a hash collision costs a
comparison, never a wrong answer. Memory: the CRL's DER, which is kept anyway, and 8 bytes
an entry.

Entries of an indirect CRL (with a certificateIssuer extension) belong to other issuers
from that entry on; such CRLs are rare and are left to certvalidator's own walk.

``sniff_crl`` reads what a trust file that could not be loaded would have been (a CRL? by
which issuer?) from its first bytes, so a verdict that needed it can name it.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509

__all__ = ["RevokedIndex", "index_of", "registered", "serial_octets", "CrlSniff", "sniff_crl", "install_indexed_lookup"]

_CERTIFICATE_ISSUER_OID = bytes.fromhex("0603551d1d")
_SEQUENCE, _INTEGER, _UTC_TIME, _GENERALIZED_TIME = 0x30, 0x02, 0x17, 0x18
_OFFSET_BITS = 32
_OFFSET_MASK = (1 << _OFFSET_BITS) - 1


def _header(data: bytes, position: int) -> tuple[int, int, int]:
    """(tag, body start, body length) of the element at ``position``; no bound checks (callers slice)."""
    tag, length = data[position], data[position + 1]
    body = position + 2
    if length & 0x80:
        octets = length & 0x7F
        length = int.from_bytes(data[body : body + octets], "big")
        body += octets
    return tag, body, length


def serial_octets(serial: int) -> bytes:
    """The contents octets of ``serial`` as a DER INTEGER (two's complement, minimal)."""
    magnitude = serial if serial >= 0 else ~serial
    return serial.to_bytes(magnitude.bit_length() // 8 + 1, "big", signed=True)


def _key(octets: bytes) -> int:
    return hash(octets) & _OFFSET_MASK


@dataclass(frozen=True)
class RevokedIndex:
    der: bytes
    """The whole CRL, DER: entries are read back from it."""
    keys: array[int]
    """Sorted words (serial-hash << 32 | entry offset)."""
    indirect: bool
    """Some entry names another certificate issuer: only a full walk reads such a list correctly."""

    @classmethod
    def build(cls, der: bytes) -> RevokedIndex:
        start, end = _revoked_list(der)
        if der.find(_CERTIFICATE_ISSUER_OID, start, end) >= 0:
            return cls(der, array("Q"), True)
        if end - start > _OFFSET_MASK or len(der) > _OFFSET_MASK:
            raise ValueError("the CRL is too large to index")
        words = []
        position = start
        # The hot loop of indexing a million entries: headers read inline rather than through _header.
        while position < end:
            length = der[position + 1]
            body = position + 2
            if length & 0x80:
                body += length & 0x7F
                length = int.from_bytes(der[position + 2 : body], "big")
            serial_length = der[body + 1]
            if serial_length & 0x80:  # RFC 5280 serials fit in 20 octets; anything longer is read the long way
                _, serial_body, serial_length = _header(der, body)
            else:
                serial_body = body + 2
            words.append(
                (hash(der[serial_body : serial_body + serial_length]) & _OFFSET_MASK) << _OFFSET_BITS | position
            )
            position = body + length
        words.sort()
        return cls(der, array("Q", words), False)

    def entry(self, serial: int) -> asn1_crl.RevokedCertificate | None:
        """The CRL entry for ``serial``, or None when it is not listed."""
        octets = serial_octets(serial)
        key = _key(octets)
        index = bisect_left(self.keys, key << _OFFSET_BITS)
        while index < len(self.keys) and self.keys[index] >> _OFFSET_BITS == key:
            position = self.keys[index] & _OFFSET_MASK
            _, body, length = _header(self.der, position)
            _, serial_body, serial_length = _header(self.der, body)
            if self.der[serial_body : serial_body + serial_length] == octets:
                return asn1_crl.RevokedCertificate.load(self.der[position : body + length])
            index += 1
        return None

    def revoked_at(self, serial: int) -> datetime | None:
        found = self.entry(serial)
        return None if found is None else found["revocation_date"].native


def _revoked_list(der: bytes) -> tuple[int, int]:
    """Start and end of revokedCertificates' contents (equal when the CRL lists none)."""
    _, outer, _ = _header(der, 0)
    _, tbs, tbs_length = _header(der, outer)
    tbs_end = tbs + tbs_length
    position = tbs
    # version? signature issuer thisUpdate nextUpdate? revokedCertificates? [0] crlExtensions?
    fields_seen = 0
    while position < tbs_end:
        tag, body, length = _header(der, position)
        if tag == _INTEGER and fields_seen == 0:
            position = body + length
            continue
        fields_seen += 1
        if fields_seen >= 4 and tag == _SEQUENCE:
            return body, body + length
        position = body + length
    return tbs_end, tbs_end


_registry: dict[bytes, RevokedIndex] = {}
_REGISTRY_LIMIT = 1024
_registry_lock = threading.Lock()


def index_of(der: bytes, signature: bytes) -> RevokedIndex:
    """The index of one CRL, built on first use and kept under its signature value."""
    with _registry_lock:
        found = _registry.get(signature)
    if found is None or (found.der is not der and found.der != der):
        found = RevokedIndex.build(der)
        with _registry_lock:
            if len(_registry) >= _REGISTRY_LIMIT:
                # Stores loaded over a long run: start again. An index dropped here is built again when the engine
                # next looks a serial up in that CRL; until then certvalidator walks it itself (slower, same answer).
                _registry.clear()
            _registry[signature] = found
    return found


def registered(signature: bytes) -> RevokedIndex | None:
    """The index of a CRL from a trust store, by its signature value; None for a CRL never indexed."""
    with _registry_lock:
        return _registry.get(signature)


@dataclass(frozen=True)
class CrlSniff:
    """What the first bytes of a file say it is."""

    is_crl: bool
    issuer: asn1_x509.Name | None = None


def sniff_crl(head: bytes) -> CrlSniff:
    """Whether DER ``head`` (possibly truncated) starts like a CRL, and its issuer when readable.

    A CRL's TBSCertList is [version INTEGER] AlgorithmIdentifier Name Time; a certificate's
    TBSCertificate is [0] INTEGER AlgorithmIdentifier Name Validity: the fourth element tells them apart.
    """
    try:
        tag, outer, _ = _header(head, 0)
        inner_tag, position, _ = _header(head, outer)
        if tag != _SEQUENCE or inner_tag != _SEQUENCE:
            return CrlSniff(False)
        elements: list[tuple[int, int, int]] = []
        while len(elements) < 4:
            element_tag, body, length = _header(head, position)
            elements.append((element_tag, position, body + length))
            position = body + length
        if elements[0][0] == _INTEGER:
            elements = elements[1:]
        else:
            elements = elements[:3]
        (_, _, _), (name_tag, name_start, name_end), (time_tag, _, _) = elements[:3]
        if name_tag != _SEQUENCE or time_tag not in (_UTC_TIME, _GENERALIZED_TIME):
            return CrlSniff(False)
        return CrlSniff(True, asn1_x509.Name.load(head[name_start:name_end]))
    except (IndexError, ValueError, TypeError):
        return CrlSniff(False)


def install_indexed_lookup() -> None:
    """Make pyhanko-certvalidator find a certificate in an indexed CRL by lookup instead of by walking it.

    certvalidator exposes no hook for this; its module-level ``find_cert_in_list`` is replaced by one
    that answers from the index for the CRLs docflow indexed (trust-store CRLs, direct ones) and defers
    to the original for anything else, with the same results and the same refusals.
    """
    from pyhanko_certvalidator.revinfo import validate_crl

    original = getattr(validate_crl, "find_cert_in_list", None)
    if original is None or getattr(original, "docflow_indexed", False):
        return

    def find_cert_in_list(cert, cert_issuer_name, certificate_list, crl_authority_name):  # type: ignore[no-untyped-def]
        index = registered(certificate_list["signature"].native)
        if index is None or index.indirect or not isinstance(cert, asn1_x509.Certificate):
            return original(cert, cert_issuer_name, certificate_list, crl_authority_name)
        if crl_authority_name != cert_issuer_name:
            return None, None
        entry = index.entry(cert.serial_number)
        if entry is None:
            return None, None
        if entry.critical_extensions - validate_crl.KNOWN_CRL_ENTRY_EXTENSIONS:  # type: ignore[attr-defined]
            raise NotImplementedError()  # as certvalidator: an entry with unknown critical extensions is unusable
        return entry["revocation_date"].native, entry.crl_reason_value or asn1_crl.CRLReason("unspecified")

    find_cert_in_list.docflow_indexed = True  # type: ignore[attr-defined]
    validate_crl.find_cert_in_list = find_cert_in_list
