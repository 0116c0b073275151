"""The summary's per-level table: its columns, which fit the terminal, and drawing them.

Columns join by priority while they fit; the same columns are used in every level's table of one summary, so
that the footer can name exactly what was printed and what was left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.constrain import Constrain
from rich.segment import Segment, Segments
from rich.text import Text

from docflow.cli.summary_words import flag_word, tier_word
from docflow.cli.summary_words import percent as _percent
from docflow.cli.tables import TableColumn, records
from docflow.i18n import N_, _
from docflow.reports.metrics import MEETS_TARGET, UNRANKED
from docflow.reports.summary import Summary, UnitSummary
from docflow.reports.units import LEVEL_LABELS
from docflow.safe_text import cell, for_terminal

__all__ = ["Column", "COLUMNS", "sparkline", "fitting_columns", "level_table"]

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: tuple[float | None, ...]) -> str:
    """Rates 0–1 on an absolute scale (so 50 % looks the same in every row); ``·`` for no data."""
    return "".join("·" if value is None else _BARS[min(int(value * len(_BARS)), len(_BARS) - 1)] for value in values)


@dataclass(frozen=True)
class Column:
    header: str
    """The column's key, an English message: ``shown`` is it in the reader's language."""
    priority: int
    """0 always shown; higher numbers are dropped first on narrow terminals."""
    cell: Callable[[UnitSummary], str | Text]
    justify: Literal["left", "right"] = "right"
    min_width: int = 4
    """Narrowest readable width, when the terminal forces shrinking."""
    max_width: int = 14
    wraps: bool = False

    @property
    def shown(self) -> str:
        return _(self.header)


def _tier_text(row: UnitSummary) -> Text:
    style = "green" if row.tier == MEETS_TARGET else "dim" if row.tier == UNRANKED else "bold red"
    return Text(tier_word(row.tier), style=style)


COLUMNS: tuple[Column, ...] = (
    # Read left to right as a supervisor asks: which unit (its code is what --unit takes, and tells apart the
    # communes a province names alike), does it meet its target, why not; then the counts behind it.
    Column(N_("Unit"), 0, lambda r: cell(r.unit.display_name), "left", min_width=14, max_width=32, wraps=True),
    Column(N_("Code"), 0, lambda r: cell(r.unit.code, style="dim"), "left", min_width=13, max_width=13),
    Column(N_("E-issue"), 0, lambda r: _percent(r.rates.e_issuance_rate)),
    Column(N_("Tier"), 0, _tier_text, "left", min_width=9, max_width=14, wraps=True),
    Column(N_("Outgoing"), 1, lambda r: str(r.counters.outgoing)),
    Column(N_("ND30"), 2, lambda r: _percent(r.rates.nd30_rate)),
    Column(N_("Signed"), 3, lambda r: _percent(r.rates.signature_rate)),
    Column(N_("Trend"), 4, lambda r: sparkline(r.trend), "left"),
    Column(N_("Electronic"), 5, lambda r: str(r.counters.outgoing_electronic)),
    Column(N_("Paper"), 5, lambda r: str(r.counters.outgoing_paper)),
    Column(N_("Incoming"), 6, lambda r: str(r.counters.incoming)),
    Column(N_("Incoming e."), 6, lambda r: _percent(r.rates.incoming_electronic_rate)),
    Column(N_("On time"), 7, lambda r: _percent(r.rates.on_time_rate)),
    Column(
        N_("Flags"),
        0,
        lambda r: Text(", ".join(map(flag_word, r.flags)), style="yellow"),
        "left",
        min_width=18,
        max_width=20,
        wraps=True,
    ),
)
"""Priority 0 is always printed; the others join in rising priority while the terminal has room."""


def _cell_width(cell: str | Text) -> int:
    return cell_len(cell) if isinstance(cell, str) else cell.cell_len


def _column_cells(rows: list[UnitSummary]) -> dict[str, list[str | Text]]:
    """Every cell of the table by column header, made once for both measuring and drawing."""
    return {column.header: [column.cell(row) for row in rows] for column in COLUMNS}


def _natural_width(column: Column, cells: list[str | Text]) -> int:
    widest = max((_cell_width(cell) for cell in cells), default=0)
    return min(max(cell_len(column.shown), widest), column.max_width)


_SHRINK_ORDER = ("Flags", "Tier", "Unit")
_NAME_ROOM = 24
"""The unit's name keeps this much before it wraps to make room for an optional column."""


def fitting_columns(rows: list[UnitSummary], width: int) -> tuple[tuple[Column, int], ...]:
    """The columns that fit ``width`` for every row given, in table order, each with the width it gets.

    The always-shown columns come first at their natural width, the wrapping ones (name, tier, flags)
    shrinking toward their minimum if the terminal is narrow; then the optional columns join by priority
    while they fit. Narrow terminals lose detail, not layout. Given every listed row of a summary, the
    answer fits each level's table, so all tables have the same columns and the footer can name them.
    """
    cells = _column_cells(rows)
    widths = {column.header: _natural_width(column, cells[column.header]) for column in COLUMNS}
    chosen = [column for column in COLUMNS if column.priority == 0]
    used = 1 + sum(widths[column.header] + 3 for column in chosen)  # 3: padding and border; 1: last border
    # The flags and the tier wrap first: a unit's name on two lines is harder to scan down than they are.
    for column in sorted(chosen, key=lambda c: _SHRINK_ORDER.index(c.header) if c.header in _SHRINK_ORDER else 99):
        if column.wraps and used > width:
            cut = min(used - width, widths[column.header] - column.min_width)
            widths[column.header] -= max(cut, 0)
            used -= max(cut, 0)
    for column in sorted((c for c in COLUMNS if c.priority > 0), key=lambda c: c.priority):
        # A long name may give up some width for a figure, down to _NAME_ROOM (a few names then take two lines).
        spare = max(widths["Unit"] - _NAME_ROOM, 0)
        needed = used + widths[column.header] + 3 - width
        if needed > spare:
            break  # strictly by priority: a small column must not jump a more useful wide one
        if needed > 0:
            widths["Unit"] -= needed
            used -= needed
        chosen.append(column)
        used += widths[column.header] + 3
    return tuple((column, widths[column.header]) for column in COLUMNS if column in chosen)


# Drawn here rather than with rich's Table: its generic measure/wrap/pad pipeline costs
# about 0.7 ms a row, most of `docflow summary`'s time; the widths are already decided
# by fitting_columns, so drawing the same box as segments takes a few ms for 720 rows.
_BOX = box.HEAVY_HEAD

_CellLine = list[Segment]
"""One line of a cell, exactly as wide as its column."""


def _cell_lines(cell: str | Text, column: Column, width: int, console: Console) -> list[_CellLine]:
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
    name = for_terminal(_(LEVEL_LABELS.get(level, level)))
    return _("{level} — electronic issuance target {target:.0f}%").format(level=name, target=target * 100)


def _records(title: str, columns: tuple[tuple[Column, int], ...], rows: list[UnitSummary], width: int) -> Group:
    """For a terminal too narrow even for the always-shown columns: a record per unit, one field a line, as every
    other table does (``docflow.cli.tables``), rather than codes and names cut to fit."""
    fields = [TableColumn(column.shown) for column, _width in columns]
    cells = [[c.cell(row) for c, _width in columns] for row in rows]
    return Group(Text(title, style="italic"), records("", fields, cells, width))


def level_table(
    level: str, rows: list[UnitSummary], summary: Summary, columns: tuple[tuple[Column, int], ...], console: Console
) -> RenderableType:
    """The level's title and table (rich's default heavy-head box) with ``columns``, ready to print."""
    cells = _column_cells(rows)
    title = _level_title(level, summary)
    if 1 + sum(fitted + 3 for _column, fitted in columns) > console.width:
        return _records(title, columns, rows, console.width)
    widths = [fitted for _column, fitted in columns]
    padded = [width + 2 for width in widths]
    headers = [_cell_lines(Text(column.shown, style="bold"), column, width, console) for column, width in columns]
    segments = [Segment(_BOX.get_top(padded)), Segment.line()]
    segments += _table_lines(headers, widths, _BOX.head_left, _BOX.head_vertical)
    segments += [Segment(_BOX.get_row(padded, "head", edge=True)), Segment.line()]
    for index in range(len(rows)):
        row_cells = [_cell_lines(cells[column.header][index], column, width, console) for column, width in columns]
        segments += _table_lines(row_cells, widths, _BOX.mid_left, _BOX.mid_vertical)
    segments += [Segment(_BOX.get_bottom(padded)), Segment.line()]
    # The title wraps within the table's width, as rich's Table does it.
    return Group(Constrain(Text(title, style="italic"), sum(padded) + len(padded) + 1), Segments(segments))
