"""Showing the summary: a rich table per level with a footer naming its columns, JSON, CSV; and re-exporting
the drill-down into one unit (``docflow.cli.summary_detail``) for the command.

The numbers come from ``docflow.reports.summary`` (counters only); the drill-down is the one place that reads
documents, judging each by the rule the counters were made with.
"""

from __future__ import annotations

from rich.console import Console

from docflow.cli.summary_detail import DETAIL_CSV_FIELDS, detail_csv, render_detail
from docflow.cli.summary_table import COLUMNS, Column, fitting_columns, level_table, sparkline
from docflow.cli.summary_words import (
    FLAG_HINTS,
    NOT_TRUST_CHECKED,
    PROBLEM_HINTS,
    RATE_FAILURES,
    column_legend,
    flag_hint,
    flag_label,
    left_out_line,
    not_trust_checked_line,
    structure_lines,
)
from docflow.i18n import _, gettext, ngettext
from docflow.reports.drilldown import JudgedDocument, UnitDetail, unit_detail
from docflow.reports.metrics import LEVELS
from docflow.reports.summary import Summary, UnitSummary
from docflow.spreadsheets import CellKind, Sheet, csv_text
from docflow.spreadsheets import Column as SheetColumn

__all__ = [
    "JudgedDocument",
    "UnitDetail",
    "unit_detail",
    "summary_json",
    "summary_csv",
    "CSV_FIELDS",
    "FLAG_HINTS",
    "PROBLEM_HINTS",
    "NOT_TRUST_CHECKED",
    "sparkline",
    "render_summary",
    "render_detail",
    "detail_csv",
    "DETAIL_CSV_FIELDS",
    "RATE_FAILURES",
    "footer",
]


def _title(summary: Summary) -> str:
    title = _("Electronic issuance and digital signatures — period {period}").format(period=summary.period.label)
    if summary.period_is_default:
        title += _(" (latest year with data)")
    if summary.behind_only:
        title += _(" — only the units below target")
    return title


def summary_json(summary: Summary) -> list[dict[str, object]]:
    return [row.to_json() for row in summary.units]


CSV_FIELDS: tuple[str, ...] = (
    "unit", "name", "level", "parent", "code_valid",
    "outgoing", "outgoing_electronic", "outgoing_paper", "outgoing_issued_electronic",
    "outgoing_signed_valid", "outgoing_nd30", "outgoing_unsigned", "outgoing_confidential",
    "incoming", "incoming_electronic", "incoming_due", "incoming_due_on_time",
    "invalid_tampered", "invalid_untrusted", "invalid_revoked", "invalid_expired",
    "invalid_weak", "invalid_wrong_unit", "invalid_other",
    "e_issuance_rate", "signature_rate", "nd30_rate", "incoming_electronic_rate", "on_time_rate",
    "tier", "flags",
)  # fmt: skip


def _csv_kind(name: str) -> CellKind:
    if name == "code_valid":
        return CellKind.YES_NO
    if name.endswith("_rate"):
        return CellKind.RATE
    if name.startswith(("outgoing", "incoming", "invalid_")):
        return CellKind.INTEGER
    return CellKind.TEXT


CSV_COLUMNS: tuple[SheetColumn, ...] = tuple(SheetColumn(name, _csv_kind(name)) for name in CSV_FIELDS)
"""The kind of each ``CSV_FIELDS`` column: rates as percentages (``95.2%``), ``code_valid`` as a word."""


def _csv_row(row: UnitSummary) -> tuple[object, ...]:
    flat = row.to_json()
    invalid = flat.pop("invalid")
    assert isinstance(invalid, dict)
    flat.update({f"invalid_{reason}": count for reason, count in invalid.items()})
    flat["flags"] = " ".join(row.flags)
    return tuple(flat[name] for name in CSV_FIELDS)


def summary_csv(summary: Summary) -> str:
    """One row per unit, through ``docflow.spreadsheets`` (BOM, formulas neutralised); rates as percentages,
    empty when undefined, flags space-separated."""
    yes_no = (gettext("yes"), gettext("no"))
    return csv_text(Sheet("summary", CSV_COLUMNS, [_csv_row(row) for row in summary.units], yes_no))


def footer(summary: Summary, printed: tuple[Column, ...]) -> list[str]:
    """What the printed columns and the flags raised mean, and which columns were left out for want of room."""
    legend = column_legend(summary.trend_labels, summary.settings.min_documents)
    lines = [f"{column.shown}: {legend[column.header]}" for column in printed if column.header in legend]
    # The flag's own word too: it is what --fail-on-flags takes.
    lines += [f"  {flag_label(flag)}: {flag_hint(flag)}" for flag in summary.flags_seen]
    left_out = [column.shown for column in COLUMNS if column not in printed]
    if left_out:
        lines.append(left_out_line(left_out))
    if summary.signatures_not_trust_checked:
        lines.append(not_trust_checked_line(summary.signatures_not_trust_checked))
    return lines + structure_lines(summary.structure_day, summary.attributed_codes, summary.unknown_codes)


def _units_in_table(summary: Summary, level: str | None) -> int:
    """Units of ``level`` (None: of levels docflow does not know) in the summary, listed or not."""
    return sum(
        count for name, count in summary.units_per_level if name == level or (level is None and name not in LEVELS)
    )


def _levels(summary: Summary, limit: int | None) -> list[tuple[str | None, list[UnitSummary]]]:
    """Each level's listed rows (None: the levels docflow does not know), in report order."""
    levels = []
    for level in (*LEVELS, None):
        rows = [r for r in summary.units if (r.unit.level == level) or (level is None and r.unit.level not in LEVELS)]
        if rows:
            levels.append((level, rows if limit is None else rows[:limit]))
    return levels


def render_summary(summary: Summary, console: Console, limit: int | None = None) -> None:
    """A table per level, worst units first, then what the printed columns and the flags mean.

    ``limit`` keeps the worst ``limit`` units of each level: a national store has
    thousands of units, and the worst are what a supervisor acts on. A summary made
    with ``rows_per_level`` holds only those; the count of the others comes from it.
    """
    console.print(_title(summary), style="bold", highlight=False, markup=False)
    if not summary.units:
        console.print(_("No unit in this period."))
        return
    levels = _levels(summary, limit)
    columns = fitting_columns([row for _level, rows in levels for row in rows], console.width)
    for level, shown in levels:
        console.print(level_table(level or "other", shown, summary, columns, console))
        unlisted = _units_in_table(summary, level) - len(shown)
        if unlisted > 0:
            more = ngettext(
                "… and {count} other unit (--all shows every one)",
                "… and {count} other units (--all shows every one)",
                unlisted,
            )
            console.print(more.format(count=unlisted), highlight=False)
    for line in footer(summary, tuple(column for column, _width in columns)):
        console.print(line, highlight=False, markup=False)
