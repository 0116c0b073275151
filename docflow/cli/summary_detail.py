"""``docflow summary --unit``: one unit's rates as numerator/denominator and its failing documents, with why."""

from __future__ import annotations

import csv
import io

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from docflow.cli.summary_words import (
    flag_hint,
    flag_word,
    not_trust_checked_line,
    problem_hint,
    rate_failures,
    rate_short,
    tier_word,
)
from docflow.cli.summary_words import percent as _percent
from docflow.i18n import _, ngettext
from docflow.reports.drilldown import RATES, FailedDocument, Rate, UnitDetail
from docflow.reports.metrics import Period
from docflow.reports.summary import UnitSummary
from docflow.safe_text import cell, for_spreadsheet, for_terminal

__all__ = ["render_detail", "detail_csv", "DETAIL_CSV_FIELDS"]


def _rate_counts(row: UnitSummary) -> dict[Rate, tuple[int, int]]:
    """Each rate's (numerator, denominator), from the counters the headline rates are made of."""
    counters = row.counters
    return {
        Rate.E_ISSUANCE: (counters.outgoing_issued_electronic, counters.outgoing),
        Rate.SIGNATURE: (counters.outgoing_signed_valid, counters.outgoing_electronic),
        Rate.ND30: (counters.outgoing_nd30, counters.outgoing_electronic),
    }


def _reason_text(failed: FailedDocument) -> str:
    """A line per distinct reason list, naming the rates it fails: most documents fail all three for one reason."""
    by_reasons: dict[tuple[str, ...], list[str]] = {}
    for rate in RATES:
        if failed.fails(rate):
            by_reasons.setdefault(failed.fails(rate), []).append(rate_short(rate))
    return "\n".join(
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
        console.print(f"  {flag_word(flag)} ({flag}): {flag_hint(flag)}", highlight=False, markup=False)
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
    table.add_column(_("Date"), no_wrap=True)
    # A document's identifier is read whole or not at all: its column is never narrower than the longest.
    # rich's own sharing gives the reasons their longest line and crops the table at 80 columns: widths are set.
    widest_id = min(max(cell_len(failed.document_id) for failed in detail.failed), 40)
    reasons_width = max(console.width - 10 - widest_id - 10, 16)  # 10: the date; 10: borders and padding
    table.add_column(_("Document"), overflow="fold", width=widest_id)
    table.add_column(_("Reason"), overflow="fold", width=reasons_width)
    for failed in detail.failed:
        label = failed.document_id + (f"\n{failed.subject}" if failed.subject else "")
        table.add_row(cell(failed.promulgation_date or ""), cell(label), cell(_reason_text(failed)))
    console.print(table)


DETAIL_CSV_FIELDS: tuple[str, ...] = ("document_id", "promulgation_date", "subject", *(rate.value for rate in RATES))


def detail_csv(detail: UnitDetail) -> str:
    """One row per failing document; each rate's column holds its reason words, empty when it passes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DETAIL_CSV_FIELDS)
    for failed in detail.failed:
        values = (failed.document_id, failed.promulgation_date or "", failed.subject or "")
        writer.writerow(map(for_spreadsheet, (*values, *(" ".join(failed.fails(rate)) for rate in RATES))))
    return out.getvalue()
