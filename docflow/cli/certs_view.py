"""Showing the certificate review (``docflow certs``): a rich table per question.

The answers come from ``docflow.reports.certs``; stored values are shown as literal cells, times as people
read them (dd/mm/yyyy in the province's zone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import tzinfo

from rich.console import Console

from docflow.cli.signature_words import kind_word
from docflow.cli.tables import FittedTable, TableColumn
from docflow.i18n import N_, _
from docflow.reports.certs import (
    EXPIRED,
    IN_USE,
    NEVER_USED,
    NO_LONGER_USED,
    UNIT_FROM_ISSUED_LIST,
    UNIT_FROM_SIGNING,
    CertReview,
    SeenCertificate,
)
from docflow.safe_text import cell
from docflow.times import for_people

__all__ = ["render_review", "EXPIRING_HELP", "UNIT_HELP", "IMPORT_HELP"]

# The longer help texts of ``docflow certs`` (English msgids, translated when shown: ``docflow.cli.translated``).
EXPIRING_HELP = "'Expiring': ending within this many days from today; one already ended is 'expired'."
UNIT_HELP = (
    "Only this unit, by code or name (diacritics optional: 'so tai chinh'); several units fitting a name are listed."
)
IMPORT_HELP = (
    "Load the list of certificates issued to units (serial and unit; holder, kind, expiry, issuer optional), "
    "in English or Vietnamese headers; rows that cannot be read are listed."
)

_STATUS_LABELS = {
    IN_USE: N_("in use"),
    NEVER_USED: N_("never used"),
    NO_LONGER_USED: N_("no longer used"),
    EXPIRED: N_("expired"),
}


def _unit_sources() -> dict[str | None, str]:
    return {UNIT_FROM_ISSUED_LIST: _("issued list"), UNIT_FROM_SIGNING: _("signing"), None: ""}


def _time_sources() -> dict[str, str]:
    return {"timestamp": _("timestamp (TSA)"), "signed_attribute": _("claimed by the signer")}


def _day(moment: str | None, zone: tzinfo | None) -> str:
    return for_people(moment, zone)[:10]


def _table(
    title: str,
    headers: Iterable[str],
    rows: Iterable[Iterable[object]],
    codes: tuple[int, ...] = (0,),
    optional: Mapping[int, int] | None = None,
) -> FittedTable:
    """A table whose ``codes`` columns (units' codes) are never broken, nor any word (a date, a name), numbers on
    the right, fitted to the terminal (``docflow.cli.tables``): the ``optional`` columns (index: priority) are left
    out first, and a record per row is printed when even the others cannot fit. Stored values pass through
    ``cell``."""
    cells = [[cell(str(value)) for value in row] for row in rows]
    headers = tuple(headers)
    numeric = {index for index, column in enumerate(zip(*cells)) if all(text.plain.isdigit() for text in column)}
    columns = [
        TableColumn(
            header,
            priority=(optional or {}).get(index, 0),
            wraps=index not in codes,
            justify="right" if index in numeric else "left",
            min_width=1 if index in numeric else 10,
        )
        for index, header in enumerate(headers)
    ]
    return FittedTable(title, columns, cells)


def _unit_table(review: CertReview) -> FittedTable:
    headers = (
        _("Unit"), _("Unit name"), _("Issued"), _("Used"), _("Unused"), _("Seen signing"), _("Expiring"),
        _("Expired"), _("Used by another unit"), _("Signed after expiry"),
    )  # fmt: skip
    rows = (
        (
            line.unit,
            line.name or "",
            line.issued,
            line.used,
            line.unused,
            line.seen,
            line.expiring,
            line.expired,
            line.used_by_another_unit,
            line.signed_after_expiry,
        )
        for line in review.units
    )
    # The findings stay longest; how many certificates were seen signing is the first to go.
    title = _("Certificates per unit ({count})").format(count=len(review.units))
    return _table(title, headers, rows, optional={5: 3, 8: 1, 9: 2})


def _seen_table(review: CertReview) -> FittedTable:
    sources = _unit_sources()
    headers = (_("Unit"), _("Unit from"), _("Holder"), _("Kind"), _("Expires"), _("Signature count"), _("Last used"))
    rows = (
        (
            cert.unit or "?",
            sources.get(cert.unit_source, ""),
            cert.common_name or cert.sha256[:16],
            kind_word(cert.kind),
            _day(cert.not_after, review.zone),
            cert.signature_count,
            _day(cert.last_used, review.zone),
        )
        for cert in review.seen
    )
    seen = _("Certificates seen, by unit ({count})").format(count=len(review.seen))
    return _table(seen, headers, rows, optional={1: 2, 6: 1})


def _ending_table(review: CertReview, title: str, certs: tuple[SeenCertificate, ...], days_header: str) -> FittedTable:
    headers = (_("Unit"), _("Holder"), _("Kind"), _("Expires"), days_header, _("Signature count"), _("Last used"))
    rows = (
        (
            cert.unit or "?",
            cert.common_name or cert.sha256[:16],
            kind_word(cert.kind),
            _day(cert.not_after, review.zone),
            abs(review.days_left(cert) or 0),
            cert.signature_count,
            _day(cert.last_used, review.zone),
        )
        for cert in certs
    )
    return _table(title, headers, rows, optional={5: 2, 6: 1})


def _after_expiry_table(review: CertReview) -> FittedTable:
    headers = (_("Unit"), _("Sender"), _("Document"), _("Signer"), _("Expires"), _("Signing time"), _("Time from"))
    rows = (
        (
            sig.cert_unit or "?",
            sig.sender or "?",
            sig.document_id,
            sig.signer or sig.cert_sha256[:16],
            _day(sig.not_after, review.zone),
            for_people(sig.signing_time, review.zone),
            _time_sources().get(sig.signing_time_source, sig.signing_time_source),
        )
        for sig in review.signed_after_expiry
    )
    title = _("Signed after the certificate expired ({count})").format(count=len(review.signed_after_expiry))
    # A document's identifier is what 'docflow audit' takes: kept whole like the units' codes.
    return _table(title, headers, rows, codes=(0, 1, 2), optional={6: 1})


def _wrong_unit_table(review: CertReview) -> FittedTable:
    headers = (_("Issuing unit"), _("Document"), _("Signer (person or organisation)"), _("Certificate's unit"),
               _("Signing time"))  # fmt: skip
    rows = (
        (
            sig.sender or "?",
            sig.document_id,
            sig.signer_subject or "?",
            sig.cert_unit or "?",
            for_people(sig.signing_time, review.zone),
        )
        for sig in review.wrong_unit
    )
    title = _("Signatures not belonging to the issuing unit ({count})").format(count=len(review.wrong_unit))
    return _table(title, headers, rows, codes=(0, 1, 3))


def _issued_table(review: CertReview) -> FittedTable:
    headers = (_("Unit"), _("Serial"), _("Holder"), _("Status"), _("Last used"))
    rows = (
        (
            entry.unit,
            entry.serial,
            entry.holder or "",
            _(_STATUS_LABELS[entry.status]),
            _day(entry.last_used, review.zone),
        )
        for entry in sorted(review.issued, key=lambda e: (e.status == IN_USE, e.unit))
    )
    return _table(_("Review of issued certificates"), headers, rows, codes=(0, 1), optional={4: 1})


def render_review(review: CertReview, console: Console) -> None:
    as_of = review.as_of.strftime("%d/%m/%Y")
    console.print(_unit_table(review))
    console.print(_seen_table(review))
    expiring = _("Expiring within {days} days of {day} ({count})")
    console.print(
        _ending_table(
            review,
            expiring.format(days=review.expiring_days, day=as_of, count=len(review.expiring)),
            review.expiring,
            _("Days left"),
        )
    )
    expired = _("Expired before {day} ({count})").format(day=as_of, count=len(review.expired))
    console.print(_ending_table(review, expired, review.expired, _("Days since")))
    console.print(_after_expiry_table(review))
    console.print(_wrong_unit_table(review))
    if not review.issued:
        console.print(_("No list of issued certificates yet (docflow certs import FILE)."))
        return
    console.print(_issued_table(review))
