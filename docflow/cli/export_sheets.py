"""``docflow export``'s tables: a unit's documents with how each was counted and why, its figures, and the index.

The words are here, in one place; the data is ``docflow.reports.export`` (the counters' rule); the files are
written by ``docflow.spreadsheets`` (formulas neutralised, rates as percentages, yes/no as words, dates as
dd/mm/yyyy, CSV with a UTF-8 BOM). The reasons a document fails a rate are the drill-down's own words
(``summary_detail.reason_text``), so a unit reads the same thing in ``docflow summary --unit`` and in its file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from docflow.cli.summary_detail import reason_text
from docflow.cli.summary_words import problem_hint
from docflow.i18n import N_, _
from docflow.reports.export import IncomingRow, KindVerdict, OutgoingRow, SignatureState, UnitExport
from docflow.reports.metrics import Period
from docflow.reports.summary import UnitSummary
from docflow.reports.units import LEVEL_LABELS
from docflow.spreadsheets import CellKind, Column, Sheet
from docflow.store.classify import Rate

__all__ = [
    "DOCUMENT_COLUMNS",
    "INDEX_COLUMNS",
    "document_rows",
    "documents_sheet",
    "figures_sheet",
    "index_row",
    "index_sheet",
]

DOCUMENT_COLUMNS: tuple[Column, ...] = (
    Column(N_("Direction")),
    Column(N_("Document identifier"), width=40),
    Column(N_("Number and notation")),
    Column(N_("Date issued"), CellKind.DATE),
    Column(N_("Subject"), width=50),
    Column(N_("Sending unit")),
    Column(N_("Counted as")),
    Column(N_("Seen on the axis"), CellKind.YES_NO),
    Column(N_("Issued electronically"), CellKind.YES_NO),
    Column(N_("Valid digital signature"), CellKind.YES_NO),
    Column(N_("Both signatures (Decree 30)"), CellKind.YES_NO),
    Column(N_("Personal signature"), width=30),
    Column(N_("Organisation signature"), width=30),
    Column(N_("Due date"), CellKind.DATE),
    Column(N_("Handled on time"), CellKind.YES_NO),
    Column(N_("Why it does not count"), width=60),
)
"""A unit's documents, outgoing then incoming; a column that does not apply to a row is left empty."""

INDEX_COLUMNS: tuple[Column, ...] = (
    Column(N_("Agency code")),
    Column(N_("Unit"), width=40),
    Column(N_("Level")),
    Column(N_("Period")),
    Column(N_("Outgoing documents"), CellKind.INTEGER),
    Column(N_("Issued electronically"), CellKind.INTEGER),
    Column(N_("Electronic issuance rate"), CellKind.RATE),
    Column(N_("Digital signature rate"), CellKind.RATE),
    Column(N_("Decree 30 rate"), CellKind.RATE),
    Column(N_("Incoming documents"), CellKind.INTEGER),
    Column(N_("Received electronically rate"), CellKind.RATE),
    Column(N_("On-time handling rate"), CellKind.RATE),
    Column(N_("Tier")),
    Column(N_("File"), width=50),
)


def _translated(columns: Sequence[Column]) -> tuple[Column, ...]:
    return tuple(Column(_(column.title), column.kind, column.width) for column in columns)


def _yes_no() -> tuple[str, str]:
    return (_("yes"), _("no"))


def _date(text: str | None) -> date | str | None:
    """A stored ``yyyy-mm-dd`` as a date (shown dd/mm/yyyy); anything else as the sender wrote it."""
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return text


def _number(number: str | None, notation: str | None) -> str:
    return "/".join(part for part in (number, notation) if part)


def _kind_words(verdict: KindVerdict) -> str:
    if verdict.state is SignatureState.VALID:
        return _("valid")
    if verdict.state is SignatureState.ABSENT:
        return _("none")
    if verdict.state is SignatureState.NOT_SEEN:
        return _("no signed file seen")
    return _("not valid: {reasons}").format(reasons="; ".join(problem_hint(w) for w in verdict.words))


def _outgoing_values(row: OutgoingRow) -> tuple[object, ...]:
    document, state = row.judged, row.judged.state
    electronic = bool(state and state.sent_electronically)
    if not electronic:
        counted = _("paper")
    elif state and state.channel == "both":
        counted = _("electronic, with a paper copy")
    else:
        counted = _("electronic")
    signature, nd30 = document.standing.of(Rate.SIGNATURE), document.standing.of(Rate.ND30)
    return (
        _("outgoing"), document.document_id, _number(document.number, document.notation),
        _date(document.promulgation_date), document.subject, None, counted, bool(state and state.sent_over_axis),
        document.standing.of(Rate.E_ISSUANCE).passed, signature.passed if signature.counted else None,
        nd30.passed if nd30.counted else None, _kind_words(row.signatures.person),
        _kind_words(row.signatures.organisation), None, None, reason_text(document, ". "),
    )  # fmt: skip


def _sender(row: IncomingRow) -> str | None:
    return f"{row.sender_name} ({row.sender})" if row.sender_name and row.sender else row.sender


def _incoming_values(row: IncomingRow) -> tuple[object, ...]:
    reasons = []
    if not row.standing.electronic:
        reasons.append(_("received on paper"))
    if row.standing.due and not row.standing.on_time:
        reasons.append(_("handled late") if row.handled_at else _("not reported handled"))
    return (
        _("incoming"), row.document_id, _number(row.number, row.notation), _date(row.promulgation_date),
        row.subject, _sender(row), _("electronic") if row.standing.electronic else _("paper"),
        row.state.sent_over_axis, None, None, None, _kind_words(row.signatures.person),
        _kind_words(row.signatures.organisation), _date(row.due_date),
        row.standing.on_time if row.standing.due else None, "; ".join(reasons),
    )  # fmt: skip


def document_rows(export: UnitExport) -> list[tuple[object, ...]]:
    """The unit's documents as the sheet's rows: outgoing then incoming, each by date."""
    return [*map(_outgoing_values, export.outgoing), *map(_incoming_values, export.incoming)]


def documents_sheet(export: UnitExport) -> Sheet:
    return Sheet(_("Documents"), _translated(DOCUMENT_COLUMNS), document_rows(export), _yes_no())


def figures_sheet(row: UnitSummary, period: Period) -> Sheet:
    """The unit's line of the index (its summary's counts and rates), for the unit to check its rows against."""
    return Sheet(_("Figures"), _translated(INDEX_COLUMNS[:-1]), [index_row(row, period, "")[:-1]], _yes_no())


def index_row(row: UnitSummary, period: Period, file_name: str) -> tuple[object, ...]:
    counters, rates = row.counters, row.rates
    return (
        row.unit.code, row.unit.name or "", _(LEVEL_LABELS.get(row.unit.level, row.unit.level)), period.label,
        counters.outgoing, counters.outgoing_issued_electronic, rates.e_issuance_rate, rates.signature_rate,
        rates.nd30_rate, counters.incoming, rates.incoming_electronic_rate, rates.on_time_rate, row.tier, file_name,
    )  # fmt: skip


def index_sheet(rows: Sequence[tuple[object, ...]]) -> Sheet:
    return Sheet(_("Units"), _translated(INDEX_COLUMNS), rows, _yes_no())
