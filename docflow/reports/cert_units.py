"""Which unit a certificate is of, and what the review says per unit.

A signer certificate's unit comes first from the province's list of issued certificates (``docflow certs
import``): by fingerprint, else by serial *and* issuer, since two CAs may give the same serial. Only a
certificate the list does not know keeps the unit ingestion found it signing for (organisation
certificates whose name matched their sender's); a personal certificate names a person, not a unit,
so without the list it has none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from docflow.store.ownership import normalise_name, normalise_serial

__all__ = [
    "UNIT_FROM_ISSUED_LIST",
    "UNIT_FROM_SIGNING",
    "ListedCertificate",
    "IssuedList",
    "issuer_matches",
    "UnitCertificates",
]

UNIT_FROM_ISSUED_LIST = "issued_list"
"""The unit of the entry of the issued list with the certificate's fingerprint, or its serial and issuer."""
UNIT_FROM_SIGNING = "signing"
"""The sender ingestion found the (organisation) certificate signing for, by the list or by names."""

_DN_SEPARATOR = re.compile(r"(?<!\\)[,+]")


def _dn_values(name: str) -> list[str]:
    """The attribute values of an RFC 4514 name (``CN=CA X,O=Ban Cơ yếu Chính phủ,C=VN`` → CA X, Ban…, VN)."""
    parts = (part.split("=", 1) for part in _DN_SEPARATOR.split(name))
    return [pair[1].replace("\\", "") for pair in parts if len(pair) == 2]


def issuer_matches(listed: str, issuer: str | None) -> bool:
    """Whether the issuer a list writes (a CA's name, or its whole distinguished name) is ``issuer`` (as verdicts
    store it, RFC 4514): names compared as unit names are, without case, diacritics or punctuation."""
    if not issuer:
        return False
    wanted = normalise_name(listed)
    return bool(wanted) and wanted in {normalise_name(issuer), *map(normalise_name, _dn_values(issuer))}


@dataclass(frozen=True)
class ListedCertificate:
    """One entry of the issued list, as stored (serial and fingerprint normalised)."""

    serial: str
    unit: str
    holder: str | None
    kind: str | None
    not_after: str | None
    sha256: str | None
    issuer: str | None

    def is_certificate(self, sha256: str | None, serial: str | None, issuer: str | None) -> bool:
        """Whether this entry is the signer certificate with these fingerprint, serial and issuer.

        A fingerprint decides when both sides have one. Else the serial must match, and the issuer too when the
        list names one; an entry without an issuer (an older list) is taken on its serial alone.
        """
        if self.sha256 and sha256:
            return self.sha256 == sha256.lower()
        if not serial or normalise_serial(serial) != self.serial:
            return False
        return self.issuer is None or issuer_matches(self.issuer, issuer)


class IssuedList:
    """The issued list, looked up by fingerprint and by serial."""

    def __init__(self, entries: Iterable[ListedCertificate]) -> None:
        self.entries = tuple(entries)
        self._by_sha: dict[str, list[ListedCertificate]] = {}
        self._by_serial: dict[str, list[ListedCertificate]] = {}
        for entry in self.entries:
            if entry.sha256:
                self._by_sha.setdefault(entry.sha256, []).append(entry)
            self._by_serial.setdefault(entry.serial, []).append(entry)

    def entries_for(self, sha256: str | None, serial: str | None, issuer: str | None) -> list[ListedCertificate]:
        candidates = self._by_sha.get((sha256 or "").lower(), [])
        if serial:
            candidates = candidates + self._by_serial.get(normalise_serial(serial), [])
        return [entry for entry in dict.fromkeys(candidates) if entry.is_certificate(sha256, serial, issuer)]

    def unit_of(self, sha256: str | None, serial: str | None, issuer: str | None) -> str | None:
        """The one unit the list gives this certificate; None when it is not listed, or listed for several units
        on a serial alone (then the list cannot tell, and the review falls back to what ingestion found)."""
        units = {entry.unit for entry in self.entries_for(sha256, serial, issuer)}
        return units.pop() if len(units) == 1 else None


@dataclass(frozen=True)
class UnitCertificates:
    """One unit's line of the review."""

    unit: str
    name: str | None
    issued: int
    """Entries of the issued list for the unit."""
    used: int
    """Of those, the ones that signed at least once."""
    unused: int
    """Of those, the ones that never signed (issued − used)."""
    seen: int
    """Certificates seen signing whose unit is this one (listed or not)."""
    expiring: int
    """Of the seen ones, those ending within the review's days and not yet ended."""
    expired: int
    """Of the seen ones, those already ended."""
    used_by_another_unit: int
    """The unit's certificates that signed documents another unit sent (wrong-unit signatures)."""
    signed_after_expiry: int
    """Signatures made with the unit's certificates after they ended."""
