"""The certificate review the province asks for ("rà soát lại chữ ký số đã cấp và tăng cường sử dụng").

Four questions: which certificates each unit signs with; which expire soon; which
signatures were made with a certificate of another unit; and, given the list of
certificates issued to units (``docflow certs import``), which were never used or
have fallen out of use.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from docflow.readers.lists import read_issued_file
from docflow.records import RejectedItem
from docflow.store.ownership import normalise_serial

__all__ = [
    "IN_USE",
    "NEVER_USED",
    "NO_LONGER_USED",
    "EXPIRED",
    "SeenCertificate",
    "WrongUnitSignature",
    "IssuedUse",
    "CertReview",
    "IssuedImport",
    "import_issued",
    "review_certificates",
]

_Record = TypeVar("_Record")

IN_USE = "in_use"
NEVER_USED = "never_used"
NO_LONGER_USED = "no_longer_used"
EXPIRED = "expired"


@dataclass(frozen=True)
class SeenCertificate:
    """A signer certificate found on stored signatures."""

    sha256: str
    serial: str | None
    common_name: str | None
    organisation: str | None
    kind: str
    unit: str | None
    not_after: str | None
    first_used: str | None
    last_used: str | None
    signature_count: int


@dataclass(frozen=True)
class WrongUnitSignature:
    """A signature whose organisation certificate belongs to a unit other than the sender."""

    document_id: str
    sender: str | None
    signer_subject: str | None
    cert_sha256: str | None
    signing_time: str | None


@dataclass(frozen=True)
class IssuedUse:
    """One certificate from the province's issued list, and whether it is used."""

    serial: str
    unit: str
    holder: str | None
    kind: str | None
    not_after: str | None
    status: str
    """in_use, never_used, no_longer_used or expired."""
    last_used: str | None
    signature_count: int


@dataclass(frozen=True)
class CertReview:
    as_of: date
    expiring_days: int
    seen: tuple[SeenCertificate, ...]
    expiring: tuple[SeenCertificate, ...]
    """Seen certificates whose validity ends within ``expiring_days`` of ``as_of`` (or already ended)."""
    wrong_unit: tuple[WrongUnitSignature, ...]
    issued: tuple[IssuedUse, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "expiring_days": self.expiring_days,
            "certificates": [vars(cert) for cert in self.seen],
            "expiring": [vars(cert) for cert in self.expiring],
            "wrong_unit_signatures": [vars(sig) for sig in self.wrong_unit],
            "issued": [vars(issued) for issued in self.issued],
        }


@dataclass(frozen=True)
class IssuedImport:
    imported: int
    rejected: tuple[RejectedItem, ...]


def import_issued(conn: sqlite3.Connection, path: Path) -> IssuedImport:
    """Replace a unit's entries in the issued list with those of a CSV/JSON file."""
    rows, rejected = read_issued_file(path)
    with conn:
        conn.executemany(
            "INSERT OR REPLACE INTO issued_certificates (serial, unit, holder, kind, not_after, sha256)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(normalise_serial(row.serial), row.unit, row.holder, row.kind, row.not_after, row.sha256) for row in rows],
        )
    return IssuedImport(len(rows), tuple(rejected))


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text[:19].replace("Z", "")).date()
    except ValueError:
        return None


def _fetch(conn: sqlite3.Connection, record: Callable[..., _Record], query: str) -> tuple[_Record, ...]:
    return tuple(record(*row) for row in conn.execute(query))


def _seen(conn: sqlite3.Connection) -> tuple[SeenCertificate, ...]:
    return _fetch(
        conn,
        SeenCertificate,
        "SELECT sha256, serial, common_name, organisation, kind, unit, not_after,"
        " first_used, last_used, signature_count FROM certificates"
        " ORDER BY unit IS NULL, unit, kind, common_name",
    )


def _wrong_unit(conn: sqlite3.Connection) -> tuple[WrongUnitSignature, ...]:
    return _fetch(
        conn,
        WrongUnitSignature,
        "SELECT s.document_id, d.sender, s.signer_subject, s.cert_sha256, s.signing_time"
        " FROM signatures s LEFT JOIN documents d ON d.document_id = s.document_id"
        " WHERE s.belongs_to_sender = 0 ORDER BY d.sender, s.signing_time",
    )


def _issued_status(match: SeenCertificate | None, not_after: date | None, as_of: date, idle_since: date) -> str:
    if match is None or match.signature_count == 0:
        return EXPIRED if not_after and not_after < as_of else NEVER_USED
    last_used = _day(match.last_used)
    if not_after and not_after < as_of:
        return EXPIRED
    return NO_LONGER_USED if last_used and last_used < idle_since else IN_USE


def _issued(
    conn: sqlite3.Connection, seen: tuple[SeenCertificate, ...], as_of: date, idle_days: int
) -> tuple[IssuedUse, ...]:
    by_sha = {cert.sha256: cert for cert in seen}
    by_serial = {normalise_serial(cert.serial): cert for cert in seen if cert.serial}
    # "No longer used" is measured back from the newest signature in the store, so that a
    # store of last year's documents does not call every certificate idle.
    newest = max((d for d in (_day(c.last_used) for c in seen) if d), default=as_of)
    idle_since = newest - timedelta(days=idle_days)
    result = []
    rows = conn.execute(
        "SELECT serial, unit, holder, kind, not_after, sha256 FROM issued_certificates ORDER BY unit, serial"
    )
    for serial, unit, holder, kind, not_after, sha256 in rows:
        match = by_sha.get(sha256 or "") or by_serial.get(normalise_serial(serial))
        status = _issued_status(match, _day(not_after), as_of, idle_since)
        last_used = match.last_used if match else None
        count = match.signature_count if match else 0
        result.append(IssuedUse(serial, unit, holder, kind, not_after, status, last_used, count))
    return tuple(result)


def review_certificates(
    conn: sqlite3.Connection, expiring_days: int = 30, as_of: date | None = None, idle_days: int = 90
) -> CertReview:
    """The four answers of the review, as of ``as_of`` (today by default)."""
    today = as_of or date.today()
    seen = _seen(conn)
    horizon = today + timedelta(days=expiring_days)
    expiring = tuple(cert for cert in seen if (end := _day(cert.not_after)) is not None and end <= horizon)
    return CertReview(
        as_of=today,
        expiring_days=expiring_days,
        seen=seen,
        expiring=tuple(sorted(expiring, key=lambda cert: cert.not_after or "")),
        wrong_unit=_wrong_unit(conn),
        issued=_issued(conn, seen, today, idle_days),
    )
