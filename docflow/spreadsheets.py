"""Every table docflow hands to a spreadsheet, written one way: ``.xlsx`` (openpyxl) and CSV with a UTF-8 BOM.

A sheet is columns that know their kind, so a rate is a number shown as a percentage (never
``0.9516129032258065``), a yes/no is a word a reader says (never ``True``), a date is a date, and text is
text that a spreadsheet will not run as a formula (``docflow.safe_text.for_spreadsheet``) and that holds no
control character or bidi override (``for_terminal``: openpyxl refuses the first, the second makes a cell read
otherwise than it is). The BOM is what
makes Excel read UTF-8 ("UBND tỉnh Bắc Kạn", not "UBND tá»‰nh Báº¯c Káº¡n").
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from docflow.safe_text import for_spreadsheet, for_terminal

__all__ = ["CellKind", "Column", "Sheet", "YES_NO", "write_xlsx", "csv_text", "csv_lines", "write_csv"]

YES_NO = ("có", "không")
"""How a yes/no cell reads by default (the caller passes its own pair for another language)."""

_BOM = "\ufeff"
_SHEET_TITLE_MAX = 31
_SHEET_TITLE_FORBIDDEN = str.maketrans({character: " " for character in "[]:*?/\\"})
_NUMBER_FORMATS = {"integer": "#,##0", "rate": "0.0%", "date": "dd/mm/yyyy", "datetime": "dd/mm/yyyy hh:mm"}


class CellKind(enum.Enum):
    TEXT = "text"
    INTEGER = "integer"
    RATE = "rate"
    """A fraction 0..1: a number in the workbook shown as ``95.2%``; ``95.2%`` in CSV."""
    YES_NO = "yes_no"
    DATE = "date"
    DATETIME = "datetime"
    """A moment already in the people's zone (``docflow.times``): shown as dd/mm/yyyy HH:MM."""


@dataclass(frozen=True)
class Column:
    title: str
    kind: CellKind = CellKind.TEXT
    width: int | None = None
    """Characters; None: from the title and the first rows."""


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: tuple[Column, ...]
    rows: Sequence[Sequence[object]]
    yes_no: tuple[str, str] = field(default=YES_NO)


def write_xlsx(path: Path, sheets: Iterable[Sheet]) -> None:
    """One workbook, one worksheet per sheet, header row frozen and filterable; written whole, then renamed."""
    from openpyxl import Workbook  # here: commands that never write a workbook need not load it
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    used: set[str] = set()
    for sheet in sheets:
        worksheet = workbook.create_sheet(_unique_title(sheet.title, used))
        worksheet.append([_text(column.title) for column in sheet.columns])
        for header in worksheet[1]:
            header.font = Font(bold=True)
        for row in sheet.rows:
            worksheet.append([_xlsx_value(value, column, sheet.yes_no) for value, column in zip(row, sheet.columns)])
        for index, column in enumerate(sheet.columns, start=1):
            letter = worksheet.cell(row=1, column=index).column_letter
            number_format = _NUMBER_FORMATS.get(column.kind.value)
            if number_format:
                for (cell,) in worksheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = number_format
            worksheet.column_dimensions[letter].width = column.width or _width(column, sheet.rows, index - 1)
        worksheet.freeze_panes = "A2"
        worksheet.auto_filter.ref = worksheet.dimensions
    if not workbook.worksheets:
        workbook.create_sheet("-")
    temporary = path.with_name(f".{path.name}.tmp")
    workbook.save(temporary)
    temporary.replace(path)


def csv_text(sheet: Sheet) -> str:
    """The sheet as CSV text with a UTF-8 BOM, every cell as a reader sees it in the workbook."""
    buffer = io.StringIO()
    buffer.write(_BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_text(column.title) for column in sheet.columns])
    for row in sheet.rows:
        writer.writerow([_csv_value(value, column, sheet.yes_no) for value, column in zip(row, sheet.columns)])
    return buffer.getvalue()


def csv_lines(titles: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """CSV a line at a time, for results too large to hold whose columns have no known kind (``docflow sql``):
    the BOM and the header first; then numbers as they are, None as an empty cell, anything else as safe text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Iterable[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield _BOM + line(_text(title) for title in titles)
    for row in rows:
        yield line("" if value is None else value if _is_number(value) else _text(value) for value in row)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def write_csv(path: Path, sheet: Sheet) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(csv_text(sheet), encoding="utf-8", newline="")
    temporary.replace(path)


def _xlsx_value(value: object, column: Column, yes_no: tuple[str, str]) -> object:
    if value is None:
        return None
    if column.kind is CellKind.YES_NO:
        return yes_no[0] if value else yes_no[1]
    if column.kind in (CellKind.INTEGER, CellKind.RATE) and isinstance(value, int | float):
        return value
    if column.kind in (CellKind.DATE, CellKind.DATETIME) and isinstance(value, date):
        return value.replace(tzinfo=None) if isinstance(value, datetime) else value
    return _text(value)


def _text(value: object) -> object:
    return for_spreadsheet(for_terminal(value))


def _csv_value(value: object, column: Column, yes_no: tuple[str, str]) -> object:
    if value is None:
        return ""
    if column.kind is CellKind.YES_NO:
        return yes_no[0] if value else yes_no[1]
    if column.kind is CellKind.RATE and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if column.kind is CellKind.INTEGER and isinstance(value, int | float):
        return value
    if column.kind is CellKind.DATE and isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if column.kind is CellKind.DATETIME and isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    return _text(value)


def _unique_title(title: str, used: set[str]) -> str:
    base = title.translate(_SHEET_TITLE_FORBIDDEN).strip("' ")[:_SHEET_TITLE_MAX] or "-"
    candidate, number = base, 2
    while candidate.casefold() in used:
        suffix = f" ({number})"
        candidate, number = base[: _SHEET_TITLE_MAX - len(suffix)] + suffix, number + 1
    used.add(candidate.casefold())
    return candidate


def _width(column: Column, rows: Sequence[Sequence[object]], index: int) -> int:
    sample = [len(str(row[index])) for row in rows[:200] if index < len(row) and row[index] is not None]
    return max(8, min(60, max([len(column.title), *sample]) + 2))
