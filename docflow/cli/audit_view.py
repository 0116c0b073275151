"""Showing a document's audit trail (``docflow audit``): the document, its batches, signatures, events.

The trail comes from ``docflow.reports.audit``; stored values are shown as literal cells.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from docflow.cli.signature_words import yes_no
from docflow.cli.tables import FittedTable, TableColumn
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


def _code(header: str, priority: int = 0) -> TableColumn:
    """A unit's code or a timestamp: never broken."""
    return TableColumn(header, priority=priority, wraps=False)


def _verdict(header: str) -> TableColumn:
    """``INDICATION/SUBINDICATION`` is one word: kept whole."""
    return TableColumn(header, fold_over=48)


def _fitted(title: str, columns: tuple[TableColumn, ...], rows: Sequence[tuple[object, ...]]) -> FittedTable:
    """Stored values as literal cells (a subject or reason may hold rich markup or escape sequences), fitted to the
    terminal by ``docflow.cli.tables``."""
    return FittedTable(title, columns, [tuple("" if value is None else value for value in row) for row in rows])


def render_trail(trail: AuditTrail, console: Console) -> None:
    """The trail in reading order: document, batches, signatures with their checks, recipients, events."""
    console.print(_pairs_table(_("Document {id}").format(id=trail.document_id), trail.document))
    batches = (
        TableColumn(_("File"), min_width=12),
        TableColumn("SHA-256", priority=2, min_width=16),
        _code(_("Received at")),
        TableColumn(_("Item"), min_width=12),
        TableColumn(_("Source"), priority=1, wraps=False),
    )
    sources = [(s.file_name, s.sha256, s.received_at, s.item_name, s.source) for s in trail.sources]
    console.print(_fitted(_("Batches holding the document"), batches, sources))
    for number, signature in enumerate(trail.signatures, start=1):
        console.print(_pairs_table(_("Signature {number}").format(number=number), signature.fields))
        checks = (
            TableColumn(_("Check")),
            TableColumn(_("Outcome")),
            TableColumn(_("Detail"), min_width=20),
        )
        console.print(_fitted("", checks, list(signature.checks)))
    if not trail.signatures:
        console.print(_("No digital signature was recorded for this document."))
    recipients = (
        _code(_("Recipient")),
        TableColumn(_("Received electronically"), min_width=5),
        _code(_("Completed (06)")),
    )
    received = [(r.unit, yes_no(r.received_electronic), r.handled_at) for r in trail.recipients]
    console.print(_fitted(_("Recipients"), recipients, received))
    events = (
        _code(_("Unit")),
        _code(_("Code")),
        TableColumn(_("Description"), min_width=16),
        _code(_("Time"), priority=1),
        TableColumn(_("File"), priority=2, min_width=12),
    )
    statuses = [(e.reporting_unit, e.code, e.description, e.timestamp, e.batch_file) for e in trail.status_events]
    console.print(_fitted(_("Processing status"), events, statuses))
    if trail.verdict_changes:
        console.print(_verdict_changes(trail))


def _verdict_changes(trail: AuditTrail) -> FittedTable:
    """Each verdict ``docflow reverify`` changed: when, from what, to what, why, and under which trust stores."""
    columns = (
        _code(_("At")),
        TableColumn(_("Signed file (SHA-256)"), priority=2, min_width=16),
        TableColumn(_("Signature"), wraps=False, justify="right"),
        _verdict(_("Before")),
        _verdict(_("After")),
        TableColumn(_("Reason"), min_width=20),
        TableColumn(_("Trust store before"), priority=3, min_width=16),
        TableColumn(_("Trust store after"), priority=3, min_width=16),
    )
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
    return _fitted(_("Signature verdicts changed (docflow reverify)"), columns, rows)


def verdict_label(indication: str | None, subindication: str | None) -> str:
    """``INDICATION/SUBINDICATION``, or the indication alone."""
    return f"{indication}/{subindication}" if subindication else str(indication or "")
