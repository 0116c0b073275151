"""Showing a document's audit trail (``docflow audit``): the document, its batches, signatures, events.

The trail comes from ``docflow.reports.audit``; stored values are shown as literal cells.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from docflow.cli.signature_words import yes_no
from docflow.i18n import _
from docflow.reports.audit import AuditTrail
from docflow.safe_text import cell

__all__ = ["render_trail", "verdict_label"]


def _pairs_table(title: str, pairs: tuple[tuple[str, object], ...]) -> Table:
    table = Table(title=cell(title), title_justify="left", show_header=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in pairs:
        table.add_row(cell(name), cell("" if value is None else value))
    return table


def _add_rows(table: Table, rows: list[tuple[object, ...]]) -> Table:
    """Stored values as literal cells: a subject or reason may hold rich markup or escape sequences."""
    for row in rows:
        table.add_row(*(cell("" if value is None else value) for value in row))
    return table


def render_trail(trail: AuditTrail, console: Console) -> None:
    """The trail in reading order: document, batches, signatures with their checks, recipients, events."""
    console.print(_pairs_table(_("Document {id}").format(id=trail.document_id), trail.document))
    batches = Table(title=_("Batches holding the document"), title_justify="left")
    for header in (_("File"), "SHA-256", _("Received at"), _("Item"), _("Source")):
        batches.add_column(header, overflow="fold")
    _add_rows(batches, [(s.file_name, s.sha256, s.received_at, s.item_name, s.source) for s in trail.sources])
    console.print(batches)
    for number, signature in enumerate(trail.signatures, start=1):
        console.print(_pairs_table(_("Signature {number}").format(number=number), signature.fields))
        checks = Table(_("Check"), _("Outcome"), _("Detail"), title_justify="left")
        console.print(_add_rows(checks, list(signature.checks)))
    if not trail.signatures:
        console.print(_("No digital signature was recorded for this document."))
    recipients = Table(_("Recipient"), _("Received electronically"), _("Completed (06)"), title=_("Recipients"),
                       title_justify="left")  # fmt: skip
    _add_rows(recipients, [(r.unit, yes_no(r.received_electronic), r.handled_at) for r in trail.recipients])
    console.print(recipients)
    events = Table(_("Unit"), _("Code"), _("Description"), _("Time"), _("File"), title=_("Processing status"),
                   title_justify="left")  # fmt: skip
    _add_rows(
        events, [(e.reporting_unit, e.code, e.description, e.timestamp, e.batch_file) for e in trail.status_events]
    )
    console.print(events)
    if trail.verdict_changes:
        console.print(_verdict_changes(trail))


def _verdict_changes(trail: AuditTrail) -> Table:
    """Each verdict ``docflow reverify`` changed: when, from what, to what, why, and under which trust stores."""
    table = Table(title=_("Signature verdicts changed (docflow reverify)"), title_justify="left")
    for header in (
        _("At"),
        _("Signed file (SHA-256)"),
        _("Signature"),
        _("Before"),
        _("After"),
        _("Reason"),
        _("Trust store before"),
        _("Trust store after"),
    ):
        table.add_column(header, overflow="fold")
    rows: list[tuple[object, ...]] = [
        (
            change.changed_at,
            change.payload_sha256,
            change.index,
            verdict_label(change.before_indication, change.before_subindication),
            verdict_label(change.after_indication, change.after_subindication),
            change.reason,
            change.trust_before,
            change.trust_after,
        )
        for change in trail.verdict_changes
    ]
    return _add_rows(table, rows)


def verdict_label(indication: str | None, subindication: str | None) -> str:
    """``INDICATION/SUBINDICATION``, or the indication alone."""
    return f"{indication}/{subindication}" if subindication else str(indication or "")
