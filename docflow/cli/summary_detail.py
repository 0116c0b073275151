"""``docflow summary --unit``: one unit's rates as numerator/denominator and its failing documents, with why."""

from __future__ import annotations

from datetime import date

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from docflow.cli.summary_words import (
    flag_hint,
    flag_label,
    not_trust_checked_line,
    problem_hint,
    rate_failures,
    rate_short,
    tier_word,
)
from docflow.cli.summary_words import percent as _percent
from docflow.i18n import _, ngettext
from docflow.reports.drilldown import RATES, JudgedDocument, Rate, UnitDetail
from docflow.reports.metrics import Period
from docflow.reports.summary import UnitSummary
from docflow.safe_text import cell, for_terminal
from docflow.spreadsheets import CellKind, Column, Sheet, csv_text

__all__ = ["render_detail", "detail_csv", "reason_text", "DETAIL_CSV_FIELDS"]


def _rate_counts(row: UnitSummary) -> dict[Rate, tuple[int, int]]:
    """Each rate's (numerator, denominator), from the counters the headline rates are made of."""
    counters = row.counters
    return {
        Rate.E_ISSUANCE: (counters.outgoing_issued_electronic, counters.outgoing),
        Rate.SIGNATURE: (counters.outgoing_signed_valid, counters.outgoing_electronic),
        Rate.ND30: (counters.outgoing_nd30, counters.outgoing_electronic),
    }


def reason_text(failed: JudgedDocument, separator: str = "\n") -> str:
    """A line per distinct reason list, naming the rates it fails: most documents fail all three for one reason.

    The drill-down prints it and ``docflow export`` writes it, so a unit reads the same words in both."""
    by_reasons: dict[tuple[str, ...], list[str]] = {}
    for rate in RATES:
        if failed.fails(rate):
            by_reasons.setdefault(failed.fails(rate), []).append(rate_short(rate))
    return separator.join(
        f"{', '.join(rates)}: " + "; ".join(problem_hint(word) for word in words) for words, rates in by_reasons.items()
    )


def render_detail(detail: UnitDetail, period: Period, console: Console) -> None:
    """One unit's line of the summary, each rate as numerator/denominator with its failing documents' count,
    then each failing document with why, rate by rate (the same rule made the counters)."""
    if detail.summary is None:
        console.print(_("No such unit."))
        return
    row = detail.summary
    counts = _rate_counts(row)
    rates = ", ".join(
        f"{rate_short(rate)} {_percent(value)} ({counts[rate][0]}/{counts[rate][1]})"
        for rate, value in zip(RATES, (row.rates.e_issuance_rate, row.rates.signature_rate, row.rates.nd30_rate))
    )
    heading = _("{name} ({code}) — period {period}: {tier}").format(
        name=for_terminal(row.unit.display_name),
        code=for_terminal(row.unit.code),
        period=period.label,
        tier=tier_word(row.tier),
    )
    console.print(heading, style="bold", highlight=False, markup=False)
    console.print(f"  {rates}", highlight=False, markup=False)
    for flag in row.flags:
        console.print(f"  {flag_label(flag)}: {flag_hint(flag)}", highlight=False, markup=False)
    if row.signatures_not_trust_checked:
        console.print(not_trust_checked_line(row.signatures_not_trust_checked), highlight=False, markup=False)
    for rate in RATES:
        console.print(f"  {len(detail.failing(rate))} {rate_failures(rate)}", highlight=False, markup=False)
    if not detail.failed:
        return
    title = ngettext(
        "{count} outgoing document failing at least one rate",
        "{count} outgoing documents failing at least one rate",
        len(detail.failed),
    ).format(count=len(detail.failed))
    table = Table(title=title, title_justify="left")
    date_header = _("Date")
    table.add_column(date_header, no_wrap=True)
    # A document's identifier is read whole or not at all: its column is never narrower than the longest.
    # rich's own sharing gives the reasons their longest line and crops the table at 80 columns: widths are set.
    widest_id = min(max(cell_len(failed.document_id) for failed in detail.failed), 40)
    date_width = max(10, cell_len(date_header))  # a date is 10 wide; its header may be wider in some language
    reasons_width = max(console.width - date_width - widest_id - 10, 16)  # 10: borders and padding
    table.add_column(_("Document"), overflow="fold", width=widest_id)
    table.add_column(_("Reason"), overflow="fold", width=reasons_width)
    for failed in detail.failed:
        label = failed.document_id + (f"\n{failed.subject}" if failed.subject else "")
        table.add_row(cell(failed.promulgation_date or ""), cell(label), cell(reason_text(failed)))
    console.print(table)


DETAIL_CSV_FIELDS: tuple[str, ...] = ("document_id", "promulgation_date", "subject", *(rate.value for rate in RATES))


def detail_csv(detail: UnitDetail) -> str:
    """One row per failing document; each rate's column holds its reason words, empty when it passes."""
    columns = tuple(
        Column(name, CellKind.DATE if name == "promulgation_date" else CellKind.TEXT) for name in DETAIL_CSV_FIELDS
    )
    rows = [
        (failed.document_id, _date(failed.promulgation_date), failed.subject,
         *(" ".join(failed.fails(rate)) for rate in RATES))
        for failed in detail.failed
    ]  # fmt: skip
    return csv_text(Sheet("failed", columns, rows))


def _date(text: str | None) -> date | str | None:
    """A stored ``yyyy-mm-dd`` as a date (written dd/mm/yyyy); anything else as the sender wrote it."""
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return text
