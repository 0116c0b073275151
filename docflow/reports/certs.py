"""The certificate review the province asks for ("rà soát lại chữ ký số đã cấp và tăng cường sử dụng").

Its questions: which certificates each unit signs with; which expire soon and which have expired
(two lists), and which signed after they expired; which signatures were made with a certificate of
another unit; given the list of certificates issued to units (``docflow certs import``), which were
never used or have fallen out of use; and all of it counted per unit. A certificate's unit comes from
that list before any guess (``docflow.reports.cert_units``).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TypeVar

from docflow.readers.lists import read_issued_file
from docflow.records import RejectedItem
from docflow.reports.cert_units import (
    UNIT_FROM_ISSUED_LIST,
    UNIT_FROM_SIGNING,
    IssuedList,
    ListedCertificate,
    UnitCertificates,
)
from docflow.store.ownership import normalise_serial
from docflow.times import parse_iso, people_zone

__all__ = [
    "IN_USE",
    "NEVER_USED",
    "NO_LONGER_USED",
    "EXPIRED",
    "UNIT_FROM_ISSUED_LIST",
    "UNIT_FROM_SIGNING",
    "SeenCertificate",
    "WrongUnitSignature",
    "AfterExpirySignature",
    "IssuedUse",
    "UnitCertificates",
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
    issuer: str | None = None
    unit_source: str | None = None
    """Where ``unit`` came from: ``issued_list``, ``signing`` (the sender it signed for), None without a unit."""


@dataclass(frozen=True)
class WrongUnitSignature:
    """A signature whose organisation certificate belongs to a unit other than the sender."""

    document_id: str
    sender: str | None
    signer_subject: str | None
    cert_sha256: str | None
    signing_time: str | None
    cert_unit: str | None = None
    """The unit the certificate is of (issued list first), when known."""


@dataclass(frozen=True)
class AfterExpirySignature:
    """A stored signature whose signing time is after its certificate's ``not_after``."""

    document_id: str
    sender: str | None
    signer: str | None
    cert_sha256: str
    not_after: str
    signing_time: str
    signing_time_source: str
    """``timestamp`` (a TSA's time, which the signer cannot choose) or the time the signer claimed."""
    cert_unit: str | None = None


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


def _days(review_day: date, end: str | None, zone: tzinfo | None) -> int | None:
    day = _day(end, zone)
    return None if day is None else (day - review_day).days


@dataclass(frozen=True)
class CertReview:
    as_of: date
    expiring_days: int
    seen: tuple[SeenCertificate, ...]
    expiring: tuple[SeenCertificate, ...]
    """Seen certificates ending within ``expiring_days`` of ``as_of`` and not yet ended, soonest first."""
    wrong_unit: tuple[WrongUnitSignature, ...]
    issued: tuple[IssuedUse, ...]
    expired: tuple[SeenCertificate, ...] = ()
    """Seen certificates that ended before ``as_of``, latest first."""
    signed_after_expiry: tuple[AfterExpirySignature, ...] = ()
    units: tuple[UnitCertificates, ...] = ()
    unit: str | None = None
    """The one unit reviewed (``--unit``); None for every unit."""
    zone: tzinfo | None = None

    def for_unit(self, code: str) -> CertReview:
        """The review of one unit: its certificates, and the signatures made with them or on its documents."""
        return replace(
            self,
            seen=tuple(cert for cert in self.seen if cert.unit == code),
            expiring=tuple(cert for cert in self.expiring if cert.unit == code),
            expired=tuple(cert for cert in self.expired if cert.unit == code),
            wrong_unit=tuple(sig for sig in self.wrong_unit if code in (sig.sender, sig.cert_unit)),
            signed_after_expiry=tuple(sig for sig in self.signed_after_expiry if code in (sig.sender, sig.cert_unit)),
            issued=tuple(use for use in self.issued if use.unit == code),
            units=tuple(line for line in self.units if line.unit == code),
            unit=code,
        )

    def days_left(self, cert: SeenCertificate) -> int | None:
        """Days from ``as_of`` to the certificate's last day (negative once it has ended)."""
        return _days(self.as_of, cert.not_after, self.zone)

    def to_json(self) -> dict[str, object]:
        def with_days(cert: SeenCertificate) -> dict[str, object]:
            return {**vars(cert), "days_left": self.days_left(cert)}

        return {
            "as_of": self.as_of.isoformat(),
            "expiring_days": self.expiring_days,
            "unit": self.unit,
            "units": [vars(line) for line in self.units],
            "certificates": [vars(cert) for cert in self.seen],
            "expiring": [with_days(cert) for cert in self.expiring],
            "expired": [with_days(cert) for cert in self.expired],
            "signed_after_expiry": [vars(sig) for sig in self.signed_after_expiry],
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
            "INSERT INTO issued_certificates (serial, unit, holder, kind, not_after, sha256, issuer)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (serial, unit) DO UPDATE SET holder = excluded.holder,"
            " kind = excluded.kind, not_after = excluded.not_after, sha256 = excluded.sha256, issuer = excluded.issuer",
            [
                (normalise_serial(row.serial), row.unit, row.holder, row.kind, row.not_after, row.sha256, row.issuer)
                for row in rows
            ],
        )
    return IssuedImport(len(rows), tuple(rejected))


def _day(text: str | None, zone: tzinfo | None = None) -> date | None:
    """The day a stored time falls on for people (the province's zone); a bare date is that date."""
    if not text:
        return None
    if len(text.strip()) == 10:  # the issued list's yyyy-mm-dd: a day already, in no zone
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            return None
    moment = parse_iso(text)
    return moment.astimezone(zone or people_zone()).date() if moment else None


def _fetch(
    conn: sqlite3.Connection, record: Callable[..., _Record], query: str, params: Iterable[object] = ()
) -> tuple[_Record, ...]:
    return tuple(record(*row) for row in conn.execute(query, tuple(params)))


def _listed(conn: sqlite3.Connection) -> IssuedList:
    return IssuedList(
        _fetch(
            conn,
            ListedCertificate,
            "SELECT serial, unit, holder, kind, not_after, sha256, issuer FROM issued_certificates"
            " ORDER BY unit, serial",
        )
    )


def _seen(conn: sqlite3.Connection, listed: IssuedList) -> tuple[SeenCertificate, ...]:
    """Every signer certificate, its unit taken from the issued list before what ingestion found."""
    stored = _fetch(
        conn,
        SeenCertificate,
        "SELECT sha256, serial, common_name, organisation, kind, unit, not_after,"
        " first_used, last_used, signature_count, issuer FROM certificates",
    )
    seen = []
    for cert in stored:
        unit = listed.unit_of(cert.sha256, cert.serial, cert.issuer)
        if unit is not None:
            seen.append(replace(cert, unit=unit, unit_source=UNIT_FROM_ISSUED_LIST))
        else:
            seen.append(replace(cert, unit_source=UNIT_FROM_SIGNING if cert.unit else None))
    return tuple(sorted(seen, key=lambda c: (c.unit is None, c.unit or "", c.kind, c.common_name or "", c.sha256)))


def _wrong_unit(conn: sqlite3.Connection, units: dict[str, str | None]) -> tuple[WrongUnitSignature, ...]:
    rows = conn.execute(
        "SELECT s.document_id, d.sender, s.signer_subject, s.cert_sha256, s.signing_time"
        " FROM signatures s LEFT JOIN documents d ON d.document_id = s.document_id"
        " WHERE s.belongs_to_sender = 0 ORDER BY d.sender, s.signing_time"
    )
    return tuple(
        WrongUnitSignature(document, sender, subject, cert, when, units.get(cert or ""))
        for document, sender, subject, cert, when in rows
    )


def _after_expiry(conn: sqlite3.Connection, units: dict[str, str | None]) -> tuple[AfterExpirySignature, ...]:
    # julianday() reads the offsets both times are stored with, so the comparison is of moments, not of text.
    # Only a certificate last used after its end can have such a signature: the others' signatures are not read
    # (CROSS JOIN keeps SQLite to that order, certificates first, instead of scanning every signature).
    rows = conn.execute(
        "SELECT s.document_id, d.sender, c.common_name, c.sha256, c.not_after, s.signing_time, s.signing_time_source"
        " FROM certificates c CROSS JOIN signatures s ON s.cert_sha256 = c.sha256"
        " LEFT JOIN documents d ON d.document_id = s.document_id"
        " WHERE c.not_after IS NOT NULL AND (c.last_used IS NULL OR julianday(c.last_used) > julianday(c.not_after))"
        " AND s.signing_time IS NOT NULL"
        " AND julianday(s.signing_time) > julianday(c.not_after)"
        " ORDER BY c.sha256, s.signing_time"
    )
    return tuple(
        AfterExpirySignature(document, sender, signer, cert, end, when, source, units.get(cert))
        for document, sender, signer, cert, end, when, source in rows
    )


def _issued_status(match: SeenCertificate | None, not_after: date | None, as_of: date, idle_since: date) -> str:
    if match is None or match.signature_count == 0:
        return EXPIRED if not_after and not_after < as_of else NEVER_USED
    last_used = _day(match.last_used)
    if not_after and not_after < as_of:
        return EXPIRED
    return NO_LONGER_USED if last_used and last_used < idle_since else IN_USE


def _issued(
    listed: IssuedList, seen: tuple[SeenCertificate, ...], as_of: date, idle_days: int
) -> tuple[IssuedUse, ...]:
    by_sha = {cert.sha256: cert for cert in seen}
    by_serial: dict[str, list[SeenCertificate]] = {}
    for cert in seen:
        if cert.serial:
            by_serial.setdefault(normalise_serial(cert.serial), []).append(cert)
    # "No longer used" is measured back from the newest signature in the store, so that a
    # store of last year's documents does not call every certificate idle.
    newest = max((d for d in (_day(c.last_used) for c in seen) if d), default=as_of)
    idle_since = newest - timedelta(days=idle_days)
    result = []
    for entry in listed.entries:
        candidates = ([by_sha[entry.sha256]] if entry.sha256 in by_sha else []) + by_serial.get(entry.serial, [])
        matches = [cert for cert in candidates if entry.is_certificate(cert.sha256, cert.serial, cert.issuer)]
        match = max(matches, key=lambda cert: cert.signature_count, default=None)
        status = _issued_status(match, _day(entry.not_after), as_of, idle_since)
        last_used = match.last_used if match else None
        count = match.signature_count if match else 0
        result.append(IssuedUse(entry.serial, entry.unit, entry.holder, entry.kind, entry.not_after, status,
                                last_used, count))  # fmt: skip
    return tuple(result)


def _unit_lines(conn: sqlite3.Connection, review: CertReview) -> tuple[UnitCertificates, ...]:
    """Each unit's counts: every unit with a listed or seen certificate, or one used for another unit."""
    names = dict(conn.execute("SELECT code, name FROM units"))
    issued = Counter(use.unit for use in review.issued)
    used = Counter(use.unit for use in review.issued if use.signature_count > 0)
    seen = Counter(cert.unit for cert in review.seen if cert.unit)
    expiring = Counter(cert.unit for cert in review.expiring if cert.unit)
    expired = Counter(cert.unit for cert in review.expired if cert.unit)
    lent = {(sig.cert_unit, sig.cert_sha256) for sig in review.wrong_unit if sig.cert_unit not in (None, sig.sender)}
    by_another = Counter(unit for unit, _ in lent)
    after = Counter(sig.cert_unit or sig.sender for sig in review.signed_after_expiry)
    codes = sorted({*issued, *seen, *by_another, *(code for code in after if code)})
    return tuple(
        UnitCertificates(
            code,
            names.get(code),
            issued[code],
            used[code],
            issued[code] - used[code],
            seen[code],
            expiring[code],
            expired[code],
            by_another[code],
            after[code],
        )  # fmt: skip
        for code in codes
    )


def review_certificates(
    conn: sqlite3.Connection,
    expiring_days: int = 30,
    as_of: date | None = None,
    idle_days: int = 90,
    zone: tzinfo | None = None,
) -> CertReview:
    """The review's answers as of ``as_of`` (today in ``zone``, the province's by default)."""
    listed = _listed(conn)
    seen = _seen(conn, listed)
    units = {cert.sha256: cert.unit for cert in seen}
    today = as_of or datetime.now(zone or people_zone()).date()
    review = CertReview(
        as_of=today,
        expiring_days=expiring_days,
        seen=seen,
        expiring=(),
        wrong_unit=_wrong_unit(conn, units),
        issued=_issued(listed, seen, today, idle_days),
        signed_after_expiry=_after_expiry(conn, units),
        zone=zone,
    )
    ending = [(left, cert) for cert in seen if (left := review.days_left(cert)) is not None]
    review = replace(
        review,
        expiring=tuple(cert for left, cert in sorted(ending, key=_by_days) if 0 <= left <= expiring_days),
        expired=tuple(cert for left, cert in sorted(ending, key=_by_days, reverse=True) if left < 0),
    )
    return replace(review, units=_unit_lines(conn, review))


def _by_days(item: tuple[int, SeenCertificate]) -> tuple[int, str]:
    return item[0], item[1].common_name or item[1].sha256
