"""The meeting report as a workbook: one sheet per level (its units, then the level's total) and one of the
period's outgoing documents with how each was counted, written by ``docflow.spreadsheets`` (rates are numbers
shown as percentages, yes/no are words, dates are dates, text cannot run as a formula)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from docflow.cli.meeting_words import channel_word, level_name, yes_no
from docflow.cli.summary_words import PROBLEM_HINTS, tier_word
from docflow.i18n import N_, _
from docflow.reports.drilldown import JudgedDocument
from docflow.reports.meeting import LevelReport, MeetingReport, UnitLine, period_documents, reason_counts
from docflow.safe_text import for_terminal
from docflow.spreadsheets import CellKind, Column, Sheet, write_xlsx
from docflow.store.classify import RateStanding

__all__ = ["write_workbook", "level_sheet", "documents_sheet"]

_INT, _RATE, _YES_NO, _TEXT = CellKind.INTEGER, CellKind.RATE, CellKind.YES_NO, CellKind.TEXT

_LEVEL_COLUMNS: tuple[tuple[str, CellKind], ...] = (
    (N_("Code"), _TEXT),
    (N_("Unit"), _TEXT),
    (N_("Tier"), _TEXT),
    (N_("Behind target"), _YES_NO),
    (N_("Target"), _RATE),
    (N_("Outgoing"), _INT),
    (N_("E-issuance"), _RATE),
    (N_("Previous period"), _RATE),
    (N_("Change (points)"), _RATE),
    (N_("Signed"), _RATE),
    (N_("ND 30"), _RATE),
    (N_("Not issued electronically"), _INT),
    (N_("Paper only"), _INT),
    (N_("Unsigned"), _INT),
    (N_("Personal signature only"), _INT),
    (N_("Invalid signatures"), _INT),
    (N_("Another unit's certificate"), _INT),
)

_DOCUMENT_COLUMNS: tuple[tuple[str, CellKind], ...] = (
    (N_("Unit code"), _TEXT),
    (N_("Unit"), _TEXT),
    (N_("Document"), _TEXT),
    (N_("Number"), _TEXT),
    (N_("Date"), CellKind.DATE),
    (N_("Subject"), _TEXT),
    (N_("Channel"), _TEXT),
    (N_("Sent over the axis"), _YES_NO),
    (N_("Signatures"), _INT),
    (N_("Issued electronically"), _YES_NO),
    (N_("Valid signature"), _YES_NO),
    (N_("ND 30 signatures"), _YES_NO),
    (N_("Why not"), _TEXT),
)


def _columns(spec: tuple[tuple[str, CellKind], ...]) -> tuple[Column, ...]:
    return tuple(Column(_(title), kind) for title, kind in spec)


def _unit_row(line: UnitLine, target: float) -> list[object]:
    counters, rates = line.summary.counters, line.summary.rates
    return [
        for_terminal(line.code),
        for_terminal(line.name),
        tier_word(line.summary.tier),
        line.behind,
        target,
        counters.outgoing,
        rates.e_issuance_rate,
        line.previous_rate,
        line.change,
        rates.signature_rate,
        rates.nd30_rate,
        line.not_issued,
        *reason_counts(counters),
    ]


def level_sheet(level: LevelReport) -> Sheet:
    """The level's units, behind target first as in the page, and its total as the last row."""
    rows = [_unit_row(line, level.target) for line in level.units]
    totals, rates = level.totals, level.rates
    rows.append([
        "", _("Total"), "", None, level.target, totals.outgoing, rates.e_issuance_rate, level.previous_rate,
        level.change, rates.signature_rate, rates.nd30_rate, totals.outgoing - totals.outgoing_issued_electronic,
        *reason_counts(totals),
    ])  # fmt: skip
    return Sheet(level_name(level.level), _columns(_LEVEL_COLUMNS), rows, yes_no=yes_no())


def _passed(judged: RateStanding) -> bool | None:
    return judged.passed if judged.counted else None


def _document_rows(conn: sqlite3.Connection, report: MeetingReport) -> Iterator[list[object]]:
    names = {line.code: line.name for line in report.units}
    # A predecessor's documents are counted in its successor's figures: listed under the successor's name.
    names |= {code: line.name for line in report.units for code in line.summary.predecessors}
    for document in period_documents(conn, report.period, list(names)):
        judged = document.standing
        problems = JudgedDocument(document.document_id, None, None, judged).problems
        yield [
            for_terminal(document.sender),
            for_terminal(names.get(document.sender, document.sender)),
            for_terminal(document.document_id),
            for_terminal(document.number or ""),
            document.promulgation_date,
            for_terminal(document.subject or ""),
            channel_word(document.channel),
            document.sent_over_axis,
            document.signature_count,
            judged.e_issuance.passed,
            _passed(judged.signature),
            _passed(judged.nd30),
            "; ".join(_(PROBLEM_HINTS.get(word, word)) for word in problems),
        ]


def documents_sheet(conn: sqlite3.Connection, report: MeetingReport) -> Sheet:
    return Sheet(_("Documents"), _columns(_DOCUMENT_COLUMNS), list(_document_rows(conn, report)), yes_no=yes_no())


def write_workbook(path: Path, conn: sqlite3.Connection, report: MeetingReport) -> None:
    write_xlsx(path, [*(level_sheet(level) for level in report.levels), documents_sheet(conn, report)])
