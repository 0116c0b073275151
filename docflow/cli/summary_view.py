"""Showing the summary: a rich table per level, JSON, CSV, and the drill-down into one unit.

The numbers come from ``docflow.reports.summary`` (counters only). The drill-down is the one
place that reads documents, to say which of a unit's documents failed and why.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.constrain import Constrain
from rich.segment import Segment, Segments
from rich.table import Table
from rich.text import Text

from docflow.reports.drilldown import RATES, FailedDocument, Rate, UnitDetail, unit_detail
from docflow.reports.metrics import LEVELS, MEETS_TARGET, UNRANKED, Period
from docflow.reports.summary import Summary, UnitSummary
from docflow.reports.units import LEVEL_LABELS
from docflow.safe_text import cell, for_spreadsheet, for_terminal

__all__ = [
    "FailedDocument",
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
]


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


def _csv_row(row: UnitSummary) -> dict[str, object]:
    flat = row.to_json()
    invalid = flat.pop("invalid")
    assert isinstance(invalid, dict)
    flat.update({f"invalid_{reason}": count for reason, count in invalid.items()})
    flat["flags"] = " ".join(row.flags)
    return {name: "" if flat[name] is None else for_spreadsheet(flat[name]) for name in CSV_FIELDS}


def summary_csv(summary: Summary) -> str:
    """One row per unit; rates as fractions, empty when undefined, flags space-separated."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(_csv_row(row) for row in summary.units)
    return out.getvalue()


FLAG_HINTS: dict[str, str] = {
    "below_target": "tỷ lệ phát hành điện tử dưới chỉ tiêu của cấp",
    "paper": "nhiều văn bản đi chỉ phát hành bản giấy",
    "unsigned": "có văn bản điện tử không ký số",
    "personal_only": "văn bản ký số thiếu chữ ký cơ quan (chỉ ký cá nhân)",
    "invalid_signatures": "có chữ ký số không hợp lệ (bị sửa, không tin cậy, thu hồi, hết hạn, thuật toán yếu)",
    "wrong_unit": "chữ ký cơ quan thuộc đơn vị khác",
    "declining": "tỷ lệ đang giảm",
    "no_data": "không có văn bản trong kỳ",
    "invalid_code": "mã định danh sai cấu trúc",
}

PROBLEM_HINTS: dict[str, str] = {
    "paper": "chỉ phát hành bản giấy",
    "paper_copy": "gửi kèm bản giấy",
    "not_sent": "không thấy gửi qua trục liên thông (sổ ghi điện tử)",
    "unsigned": "không ký số",
    "no_valid_signature": "không có chữ ký hợp lệ",
    "no_organisation_signature": "thiếu chữ ký số cơ quan hợp lệ",
    "no_personal_signature": "thiếu chữ ký số cá nhân hợp lệ",
    "tampered": "nội dung bị sửa sau khi ký",
    "untrusted": "chứng thư không tin cậy",
    "revoked": "chứng thư đã bị thu hồi",
    "expired": "ký ngoài thời hạn chứng thư",
    "weak": "thuật toán yếu",
    "wrong_unit": "chữ ký của đơn vị khác",
    "other": "chữ ký không đọc được",
}

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: tuple[float | None, ...]) -> str:
    """Rates 0–1 on an absolute scale (so 50 % looks the same in every row); ``·`` for no data."""
    return "".join("·" if value is None else _BARS[min(int(value * len(_BARS)), len(_BARS) - 1)] for value in values)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


@dataclass(frozen=True)
class _Column:
    header: str
    priority: int
    """0 always shown; higher numbers are dropped first on narrow terminals."""
    cell: Callable[[UnitSummary], str | Text]
    justify: Literal["left", "right"] = "right"
    min_width: int = 4
    """Narrowest readable width, when the terminal forces shrinking."""
    max_width: int = 14
    wraps: bool = False


def _tier_text(row: UnitSummary) -> Text:
    style = "green" if row.tier == MEETS_TARGET else "dim" if row.tier == UNRANKED else "bold red"
    return Text(row.tier, style=style)


_COLUMNS: tuple[_Column, ...] = (
    _Column("Đơn vị", 0, lambda r: cell(r.unit.display_name), "left", min_width=14, max_width=32, wraps=True),
    _Column("Mã định danh", 3, lambda r: cell(r.unit.code, style="dim"), "left"),
    _Column("VB đi", 1, lambda r: str(r.counters.outgoing)),
    _Column("Điện tử", 4, lambda r: str(r.counters.outgoing_electronic)),
    _Column("Giấy", 4, lambda r: str(r.counters.outgoing_paper)),
    _Column("PHĐT", 0, lambda r: _percent(r.rates.e_issuance_rate)),
    _Column("Ký số", 2, lambda r: _percent(r.rates.signature_rate)),
    _Column("NĐ30", 2, lambda r: _percent(r.rates.nd30_rate)),
    _Column("VB đến", 5, lambda r: str(r.counters.incoming)),
    _Column("Đến ĐT", 5, lambda r: _percent(r.rates.incoming_electronic_rate)),
    _Column("Đúng hạn", 6, lambda r: _percent(r.rates.on_time_rate)),
    _Column("Xếp loại", 0, _tier_text, "left", min_width=8, max_width=14),
    _Column("Xu hướng", 3, lambda r: sparkline(r.trend), "left"),
    _Column("Cờ", 0, lambda r: Text(" ".join(r.flags), style="yellow"), "left", min_width=18, max_width=20, wraps=True),
)


def _cell_width(cell: str | Text) -> int:
    return cell_len(cell) if isinstance(cell, str) else cell.cell_len


def _column_cells(rows: list[UnitSummary]) -> dict[str, list[str | Text]]:
    """Every cell of the table by column header, made once for both measuring and drawing."""
    return {column.header: [column.cell(row) for row in rows] for column in _COLUMNS}


def _natural_width(column: _Column, cells: list[str | Text]) -> int:
    widest = max((_cell_width(cell) for cell in cells), default=0)
    return min(max(cell_len(column.header), widest), column.max_width)


def _fitting_columns(cells: dict[str, list[str | Text]], width: int) -> tuple[tuple[_Column, int], ...]:
    """The columns that fit, in table order, each with the width it gets.

    The always-shown columns come first at their natural width, the wrapping ones
    (name, flags) shrinking toward their minimum if the terminal is narrow; then the
    optional columns join by priority while they fit. Narrow terminals lose detail,
    not layout.
    """
    widths = {column.header: _natural_width(column, cells[column.header]) for column in _COLUMNS}
    chosen = [column for column in _COLUMNS if column.priority == 0]
    used = 1 + sum(widths[column.header] + 3 for column in chosen)  # 3: padding and border; 1: last border
    for column in chosen:
        if column.wraps and used > width:
            cut = min(used - width, widths[column.header] - column.min_width)
            widths[column.header] -= max(cut, 0)
            used -= max(cut, 0)
    for column in sorted((c for c in _COLUMNS if c.priority > 0), key=lambda c: c.priority):
        if used + widths[column.header] + 3 > width:
            break  # strictly by priority: a small column must not jump a more useful wide one
        chosen.append(column)
        used += widths[column.header] + 3
    return tuple((column, widths[column.header]) for column in _COLUMNS if column in chosen)


def _title(summary: Summary) -> str:
    title = f"Tình hình phát hành văn bản điện tử và ký số — kỳ {summary.period.label}"
    if summary.period_is_default:
        title += " (năm gần nhất có dữ liệu)"
    return title


# Drawn here rather than with rich's Table: its generic measure/wrap/pad pipeline costs
# about 0.7 ms a row, most of `docflow summary`'s time; the widths are already decided
# by _fitting_columns, so drawing the same box as segments takes a few ms for 720 rows.
_BOX = box.HEAVY_HEAD

_CellLine = list[Segment]
"""One line of a cell, exactly as wide as its column."""


def _cell_lines(cell: str | Text, column: _Column, width: int, console: Console) -> list[_CellLine]:
    """A cell cut to ``width``: wrapped onto more lines (name, flags) or cut with an ellipsis."""
    justify: Literal["left", "right"] = "left" if column.justify == "left" else "right"
    if _cell_width(cell) <= width and (isinstance(cell, str) or not cell.spans):  # nearly every cell
        plain, style = (cell, None) if isinstance(cell, str) else (cell.plain, console.get_style(cell.style))
        gap = " " * (width - cell_len(plain))
        return [[Segment(plain + gap if justify == "left" else gap + plain, style)]]
    text = Text(cell) if isinstance(cell, str) else cell.copy()
    lines = text.wrap(console, width, overflow="fold") if column.wraps else [text]
    for line in lines:
        line.truncate(width, overflow="ellipsis")
        line.align(justify, width)
    return [list(line.render(console)) for line in lines]


def _table_lines(cells: list[list[_CellLine]], widths: list[int], edge: str, divider: str) -> list[Segment]:
    """One table row, as many lines high as its tallest cell."""
    segments = []
    for index in range(max(len(lines) for lines in cells)):
        segments.append(Segment(edge + " "))
        for lines, width in zip(cells, widths):
            segments += lines[index] if index < len(lines) else [Segment(" " * width)]
            segments.append(Segment(" " + divider + " "))
        segments[-1] = Segment(" " + divider)
        segments.append(Segment.line())
    return segments


def _level_title(level: str, summary: Summary) -> str:
    target = summary.settings.target(level)
    return f"{for_terminal(LEVEL_LABELS.get(level, level))} — chỉ tiêu phát hành điện tử {target * 100:.0f}%"


def _squeezed_table(title: str, columns: tuple[tuple[_Column, int], ...], rows: list[UnitSummary]) -> Table:
    """rich's Table, for a terminal too narrow even for the always-shown columns: it squeezes them."""
    table = Table(title=Text(title), title_justify="left", expand=False)
    for column, fitted in columns:
        # One line per unit where possible: a province has a hundred communes to scan down.
        table.add_column(
            column.header,
            justify=column.justify,
            width=fitted,
            no_wrap=not column.wraps,
            overflow="fold" if column.wraps else "ellipsis",
        )
    for row in rows:
        table.add_row(*(column.cell(row) for column, _ in columns))
    return table


def _level_table(level: str, rows: list[UnitSummary], summary: Summary, console: Console) -> RenderableType:
    """The level's title and table (rich's default heavy-head box), ready to print."""
    cells = _column_cells(rows)
    columns = _fitting_columns(cells, console.width)
    title = _level_title(level, summary)
    if 1 + sum(fitted + 3 for _, fitted in columns) > console.width:
        return _squeezed_table(title, columns, rows)
    widths = [fitted for _, fitted in columns]
    padded = [width + 2 for width in widths]
    headers = [_cell_lines(Text(column.header, style="bold"), column, width, console) for column, width in columns]
    segments = [Segment(_BOX.get_top(padded)), Segment.line()]
    segments += _table_lines(headers, widths, _BOX.head_left, _BOX.head_vertical)
    segments += [Segment(_BOX.get_row(padded, "head", edge=True)), Segment.line()]
    for index in range(len(rows)):
        row_cells = [_cell_lines(cells[column.header][index], column, width, console) for column, width in columns]
        segments += _table_lines(row_cells, widths, _BOX.mid_left, _BOX.mid_vertical)
    segments += [Segment(_BOX.get_bottom(padded)), Segment.line()]
    # The title wraps within the table's width, as rich's Table does it.
    return Group(Constrain(Text(title, style="italic"), sum(padded) + len(padded) + 1), Segments(segments))


def _legend(summary: Summary) -> list[str]:
    lines = [
        "PHĐT = văn bản đi gửi qua trục liên thông, có chữ ký số hợp lệ của chính cơ quan, không kèm bản giấy, "
        "không bị sửa sau khi ký / tổng văn bản đi (docs/metrics.md); văn bản mật không tính.",
        "Ký số, NĐ30 = văn bản đi có chữ ký số hợp lệ / có đủ chữ ký cá nhân và cơ quan hợp lệ, trên văn bản đi "
        "điện tử (gửi qua trục, hoặc sổ đăng ký ghi điện tử).",
        f"Xu hướng: tỷ lệ PHĐT từ {summary.trend_labels[0]} đến {summary.trend_labels[-1]} (· = không có số liệu). "
        f"Không xếp hạng: dưới {summary.settings.min_documents} văn bản đi trong kỳ.",
    ]
    lines += [f"  {flag}: {FLAG_HINTS.get(flag, flag)}" for flag in summary.flags_seen]
    if summary.signatures_not_trust_checked:
        lines.append(not_trust_checked_line(summary.signatures_not_trust_checked))
    return lines


def not_trust_checked_line(count: int) -> str:
    """Said whenever a figure rests on signatures no trust anchor was consulted for: their verdicts can change."""
    return f"{count} {NOT_TRUST_CHECKED}"


NOT_TRUST_CHECKED = "chữ ký chưa được kiểm tra với kho tin cậy (--no-trust)"


def _units_in_table(summary: Summary, level: str | None) -> int:
    """Units of ``level`` (None: of levels docflow does not know) in the summary, listed or not."""
    return sum(
        count for name, count in summary.units_per_level if name == level or (level is None and name not in LEVELS)
    )


def render_summary(summary: Summary, console: Console, limit: int | None = None) -> None:
    """A table per level, worst units first, then what the flags mean.

    ``limit`` keeps the worst ``limit`` units of each level: a national store has
    thousands of units, and the worst are what a supervisor acts on. A summary made
    with ``rows_per_level`` holds only those; the count of the others comes from it.
    """
    console.print(_title(summary), style="bold", highlight=False)
    if not summary.units:
        console.print("Không có đơn vị nào trong kỳ này.")
        return
    for level in (*LEVELS, None):
        rows = [r for r in summary.units if (r.unit.level == level) or (level is None and r.unit.level not in LEVELS)]
        if rows:
            shown = rows if limit is None else rows[:limit]
            console.print(_level_table(level or "other", shown, summary, console))
            unlisted = _units_in_table(summary, level) - len(shown)
            if unlisted > 0:
                console.print(f"… và {unlisted} đơn vị khác (--all để xem tất cả)", highlight=False)
    for line in _legend(summary):
        console.print(line, highlight=False, markup=False)


RATE_FAILURES: dict[Rate, str] = {
    Rate.E_ISSUANCE: "văn bản đi chưa phát hành điện tử",
    Rate.SIGNATURE: "văn bản đi điện tử chưa có chữ ký số hợp lệ",
    Rate.ND30: "văn bản đi điện tử chưa đủ hai chữ ký số theo NĐ 30",
}
"""What a rate's failing documents are, after their count (the drill-down's lines)."""

_RATE_SHORT: dict[Rate, str] = {Rate.E_ISSUANCE: "PHĐT", Rate.SIGNATURE: "Ký số", Rate.ND30: "NĐ30"}


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
            by_reasons.setdefault(failed.fails(rate), []).append(_RATE_SHORT[rate])
    return "\n".join(
        f"{', '.join(rates)}: " + "; ".join(PROBLEM_HINTS.get(word, word) for word in words)
        for words, rates in by_reasons.items()
    )


def render_detail(detail: UnitDetail, period: Period, console: Console) -> None:
    """One unit's line of the summary, each rate as numerator/denominator with its failing documents' count,
    then each failing document with why, rate by rate (the same rule made the counters)."""
    if detail.summary is None:
        console.print("Không có đơn vị này.")
        return
    row = detail.summary
    counts = _rate_counts(row)
    rates = ", ".join(
        f"{_RATE_SHORT[rate]} {_percent(value)} ({counts[rate][0]}/{counts[rate][1]})"
        for rate, value in zip(RATES, (row.rates.e_issuance_rate, row.rates.signature_rate, row.rates.nd30_rate))
    )
    heading = f"{for_terminal(row.unit.display_name)} ({for_terminal(row.unit.code)}) — kỳ {period.label}: {row.tier}"
    console.print(heading, style="bold", highlight=False, markup=False)
    console.print(f"  {rates}", highlight=False, markup=False)
    for flag in row.flags:
        console.print(f"  {flag}: {for_terminal(FLAG_HINTS.get(flag, flag))}", highlight=False, markup=False)
    if row.signatures_not_trust_checked:
        console.print(not_trust_checked_line(row.signatures_not_trust_checked), highlight=False, markup=False)
    for rate in RATES:
        console.print(f"  {len(detail.failing(rate))} {RATE_FAILURES[rate]}", highlight=False, markup=False)
    if not detail.failed:
        return
    table = Table(title=f"{len(detail.failed)} văn bản đi chưa đạt ít nhất một tỷ lệ", title_justify="left")
    table.add_column("Ngày", no_wrap=True)
    # A document's identifier is read whole or not at all: its column is never narrower than the longest.
    # rich's own sharing gives the reasons their longest line and crops the table at 80 columns: widths are set.
    widest_id = min(max(cell_len(failed.document_id) for failed in detail.failed), 40)
    reasons_width = max(console.width - 10 - widest_id - 10, 16)  # 10: the date; 10: borders and padding
    table.add_column("Văn bản", overflow="fold", width=widest_id)
    table.add_column("Lý do", overflow="fold", width=reasons_width)
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
