"""Tables that stay readable at any width: columns by priority, codes and words never broken, and one record per
row (``field  value`` a line, as ``psql \\x`` prints) when even the essential columns cannot fit.

The approach is the summary's (``summary_table``): the always-shown columns first, then the optional ones join in
rising priority while they fit, and a footer names those left out. Widths are decided here, not by rich: left to
itself rich shares out a narrow terminal by cutting every column, codes included ("000.00.00.H / 04"), and breaks
words anywhere ("Indicati/on"). A column that does not wrap (a code, a number, a date, one word) gets its widest
cell; a column that wraps (names, reasons) wraps at spaces, never narrower than its longest word, and only a token
longer than ``fold_over`` (a SHA-256, a path) is folded.

Written to a file or a pipe, rich's console is 80 columns wide unless ``COLUMNS`` says otherwise, as for the
summary: the same command gives the same layout on an 80-column terminal and in a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from docflow.i18n import _
from docflow.safe_text import cell

__all__ = ["TableColumn", "Layout", "plan", "fitted_table", "records", "CellValue", "FittedTable"]

CellValue = object
"""A cell: rich Text as given (styled, already safe), anything else shown literally through ``safe_text.cell``."""

_BORDERS = 3
"""Each column's padding (one space each side) and its border; the table adds one more border at the end."""


@dataclass(frozen=True)
class TableColumn:
    header: str
    priority: int = 0
    """0 always shown; higher numbers are left out first when the terminal is narrow."""
    wraps: bool = True
    """False for a code, a number, a date or a single word: printed whole on one line, never cut."""
    justify: Literal["left", "right"] = "left"
    min_width: int = 10
    """The narrowest a wrapping column is made (its longest word, when longer, wins)."""
    fold_over: int = 24
    """A wrapping column's unbroken tokens longer than this (hashes, paths) may be folded; shorter ones never."""


@dataclass(frozen=True)
class Layout:
    """What to print: the columns shown with their widths, those left out, or a record per row."""

    shown: tuple[tuple[int, int], ...]
    """(index into the columns, width) in table order."""
    left_out: tuple[int, ...]
    vertical: bool


def _text(value: CellValue) -> Text:
    if isinstance(value, Text):
        return value
    return cell("" if value is None else value)


def _widest_line(text: Text) -> int:
    return max((cell_len(line) for line in text.plain.splitlines()), default=0)


def _longest_word(text: Text) -> int:
    return max((cell_len(word) for word in text.plain.split()), default=0)


def _widths(column: TableColumn, cells: list[Text]) -> tuple[int, int, int]:
    """(narrowest, widest cell, natural) width of a column: one that does not wrap is as wide as its widest cell
    or header."""
    header = Text(column.header)
    widest = max((_widest_line(text) for text in cells), default=0)
    natural = max(_widest_line(header), widest)
    if not column.wraps:
        return natural, natural, natural
    words = max([_longest_word(header), *(min(_longest_word(text), column.fold_over) for text in cells)])
    narrowest = min(max(column.min_width, words), natural)
    return narrowest, max(narrowest, widest), natural


def _grow(widths: dict[int, int], targets: dict[int, int], spare: int) -> int:
    """Widens the columns toward ``targets`` with ``spare`` cells, sharing alike, so that the columns lacking a little
    (a time, a file name) get all they need before a long reason takes the rest; what is left."""
    lacking = sorted((targets[index] - width, index) for index, width in widths.items() if targets[index] > width)
    for place, (lack, index) in enumerate(lacking):
        given = min(lack, spare // (len(lacking) - place))
        widths[index] += given
        spare -= given
    return spare


def _cost(widths: list[int]) -> int:
    return sum(widths) + _BORDERS * len(widths) + 1


def plan(columns: Sequence[TableColumn], rows: Sequence[Sequence[Text]], width: int) -> Layout:
    """The columns that fit ``width`` for every row given, each with its width, or a record per row.

    Strictly by priority: an optional column that does not fit stops the others joining, so that a small column
    never jumps a more useful wide one. The room left over goes to the wrapping columns: first so that their
    cells take one line, then their headers.
    """
    measured = [_widths(column, [row[index] for row in rows]) for index, column in enumerate(columns)]
    chosen = [index for index, column in enumerate(columns) if column.priority == 0]
    if _cost([measured[index][0] for index in chosen]) > width:
        return Layout((), (), vertical=True)
    optional = sorted((index for index, column in enumerate(columns) if column.priority > 0),
                      key=lambda index: columns[index].priority)  # fmt: skip
    for index in optional:
        if _cost([measured[i][0] for i in (*chosen, index)]) > width:
            break
        chosen.append(index)
    chosen.sort()
    widths = {index: measured[index][0] for index in chosen}
    spare = _grow(widths, {index: measured[index][1] for index in chosen}, width - _cost(list(widths.values())))
    _grow(widths, {index: measured[index][2] for index in chosen}, spare)
    left_out = tuple(index for index in range(len(columns)) if index not in widths)
    return Layout(tuple((index, widths[index]) for index in chosen), left_out, vertical=False)


def _table(title: str, columns: Sequence[TableColumn], rows: Sequence[Sequence[Text]], layout: Layout) -> Table:
    table = Table(title=Text(title), title_justify="left")
    for index, width in layout.shown:
        column = columns[index]
        table.add_column(
            Text(column.header),
            justify=column.justify,
            width=width,
            no_wrap=not column.wraps,
            overflow="fold" if column.wraps else "ellipsis",
        )
    for row in rows:
        table.add_row(*(row[index] for index, _ in layout.shown))
    return table


@dataclass(frozen=True)
class _Records:
    """Each row as a record, one field a line (``psql \\x``), drawn as segments: a ``Table.grid`` per record costs
    about 4 ms a record of 25 fields, too slow for the 10 000 rows ``docflow sql`` may print."""

    title: str
    headers: tuple[str, ...]
    rows: Sequence[Sequence[Text]]
    width: int

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        label_width = min(max((cell_len(header) for header in self.headers), default=0), max(self.width // 3, 8))
        value_width = max(self.width - label_width - 2, 8)
        labels = [_lines(Text(header, style="bold"), label_width, console) for header in self.headers]
        if self.title:
            yield Text(self.title, style="bold")
        for number, row in enumerate(self.rows, start=1):
            marker = f"-[ {_('Record {number}').format(number=number)} ]"
            yield Segment(marker + "-" * max(self.width - cell_len(marker), 0), console.get_style("dim"))
            yield Segment.line()
            for label, value in zip(labels, row):
                values = _lines(value, value_width, console, pad=False)
                for index in range(max(len(label), len(values))):
                    yield from label[index] if index < len(label) else [Segment(" " * label_width)]
                    yield Segment("  ")
                    if index < len(values):
                        yield from values[index]
                    yield Segment.line()


def _lines(text: Text, width: int, console: Console, pad: bool = True) -> list[list[Segment]]:
    """``text`` wrapped at spaces to ``width`` (a longer word folded), each line padded to ``width`` if ``pad``."""
    if "\n" not in text.plain and text.cell_len <= width and not text.spans:  # nearly every value
        padding = " " * (width - text.cell_len) if pad else ""
        return [[Segment(text.plain + padding, console.get_style(text.style))]]
    lines = text.wrap(console, width, overflow="fold")
    for line in lines:
        if pad:
            line.align("left", width)
    return [list(line.render(console)) for line in lines]


def records(title: str, columns: Sequence[TableColumn], rows: Sequence[Sequence[CellValue]], width: int) -> _Records:
    """Each row as a record, one field a line (``psql \\x``): every column shown, whatever the width."""
    texts = [[_text(value) for value in row] for row in rows]
    return _Records(title, tuple(column.header for column in columns), texts, width)


def left_out_line(headers: Sequence[str]) -> str:
    return _("Not shown for want of room: {columns} (a wider window, or COLUMNS=200 when writing to a file).").format(
        columns=", ".join(headers)
    )


def fitted_table(
    title: str,
    columns: Sequence[TableColumn],
    rows: Sequence[Sequence[CellValue]],
    width: int,
    *,
    vertical: bool = False,
) -> RenderableType:
    """``rows`` under ``columns`` fitted to ``width``: a table whose footer names the columns left out, or, when
    the essential columns cannot fit (or ``vertical``), a record per row."""
    texts = [[_text(value) for value in row] for row in rows]
    layout = plan(columns, texts, width)
    if vertical or layout.vertical:
        return records(title, columns, texts, width)
    table = _table(title, columns, texts, layout)
    if not layout.left_out:
        return table
    return Group(table, Text(left_out_line([columns[index].header for index in layout.left_out]), style="dim"))


@dataclass(frozen=True)
class FittedTable:
    """``fitted_table`` to the width it is printed at: ``console.print(FittedTable(...))``."""

    title: str
    columns: Sequence[TableColumn]
    rows: Sequence[Sequence[CellValue]]
    vertical: bool = False

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield fitted_table(self.title, self.columns, self.rows, options.max_width, vertical=self.vertical)
