"""Showing the certificate review (``docflow certs``): a rich table per question.

The answers come from ``docflow.reports.certs``; stored values are shown as literal cells.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from docflow.cli.signature_words import kind_word
from docflow.i18n import N_, _, ngettext
from docflow.reports.certs import EXPIRED, IN_USE, NEVER_USED, NO_LONGER_USED, CertReview, SeenCertificate
from docflow.safe_text import cell

__all__ = ["render_review"]

_STATUS_LABELS = {
    IN_USE: N_("in use"),
    NEVER_USED: N_("never used"),
    NO_LONGER_USED: N_("no longer used"),
    EXPIRED: N_("expired"),
}


def _seen_table(title: str, certs: tuple[SeenCertificate, ...]) -> Table:
    table = Table(title=title, title_justify="left")
    for header in (_("Unit"), _("Subject"), _("Kind"), _("Expires"), _("Signature count"), _("Last used")):
        table.add_column(header, overflow="fold")
    for cert in certs:
        table.add_row(*map(cell, (
            cert.unit or "?", cert.common_name or cert.sha256[:16], kind_word(cert.kind),
            (cert.not_after or "")[:10], str(cert.signature_count), (cert.last_used or "")[:10],
        )))  # fmt: skip
    return table


def render_review(review: CertReview, console: Console) -> None:
    console.print(_seen_table(_("Certificates seen, by unit ({count})").format(count=len(review.seen)), review.seen))
    expiring = ngettext(
        "Expiring within the next {days} day (from {day})",
        "Expiring within the next {days} days (from {day})",
        review.expiring_days,
    ).format(days=review.expiring_days, day=review.as_of)
    console.print(_seen_table(expiring, review.expiring))
    wrong_title = _("Signatures not belonging to the issuing unit ({count})").format(count=len(review.wrong_unit))
    wrong = Table(title=wrong_title, title_justify="left")
    for header in (_("Issuing unit"), _("Document"), _("Signer (person or organisation)"), _("Signing time")):
        wrong.add_column(header, overflow="fold")
    for sig in review.wrong_unit:
        wrong.add_row(
            *map(cell, (sig.sender or "?", sig.document_id, sig.signer_subject or "?", (sig.signing_time or "")[:19]))
        )
    console.print(wrong)
    if not review.issued:
        console.print(_("No list of issued certificates yet (docflow certs import FILE)."))
        return
    issued = Table(title=_("Review of issued certificates"), title_justify="left")
    for header in (_("Unit"), _("Serial"), _("Holder"), _("Status"), _("Last used")):
        issued.add_column(header, overflow="fold")
    for entry in sorted(review.issued, key=lambda e: (e.status == IN_USE, e.unit)):
        issued.add_row(
            *map(
                cell,
                (
                    entry.unit,
                    entry.serial,
                    entry.holder or "",
                    _(_STATUS_LABELS[entry.status]),
                    (entry.last_used or "")[:10],
                ),
            )
        )
    console.print(issued)
