"""Showing the certificate review (``docflow certs``): a rich table per question.

The answers come from ``docflow.reports.certs``; stored values are shown as literal cells, times as people
read them (dd/mm/yyyy in the province's zone).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo

from rich.console import Console
from rich.table import Table

from docflow.cli.signature_words import kind_word
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
    title: str, headers: Iterable[str], rows: Iterable[Iterable[object]], codes: tuple[int, ...] = (0,)
) -> Table:
    """A table whose ``codes`` columns (units' codes) are never broken, numbers on the right; stored values pass
    through ``cell``."""
    table = Table(title=title, title_justify="left")
    cells = [list(row) for row in rows]
    for index, header in enumerate(headers):
        numeric = bool(cells) and all(isinstance(row[index], int) for row in cells)
        table.add_column(header, overflow="fold", no_wrap=index in codes, justify="right" if numeric else "left")
    for row in cells:
        table.add_row(*(cell(str(value)) for value in row))
    return table


def _unit_table(review: CertReview) -> Table:
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
    return _table(_("Certificates per unit ({count})").format(count=len(review.units)), headers, rows)


def _seen_table(review: CertReview) -> Table:
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
    return _table(_("Certificates seen, by unit ({count})").format(count=len(review.seen)), headers, rows)


def _ending_table(review: CertReview, title: str, certs: tuple[SeenCertificate, ...], days_header: str) -> Table:
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
    return _table(title, headers, rows)


def _after_expiry_table(review: CertReview) -> Table:
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
    return _table(title, headers, rows, codes=(0, 1))


def _wrong_unit_table(review: CertReview) -> Table:
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
    return _table(title, headers, rows, codes=(0, 3))


def _issued_table(review: CertReview) -> Table:
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
    return _table(_("Review of issued certificates"), headers, rows)


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
