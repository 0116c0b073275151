"""``docflow export --period P [--unit CODE|NAME] --out DIR``: the figures each unit can check.

For each unit with a counted document in the period, ``CODE - Name.xlsx`` (its documents, and its figures) and
``CODE - Name.csv`` (its documents, UTF-8 with a BOM, so that Excel reads Vietnamese), then ``index.xlsx`` and
``index.csv`` listing the units with their counts, rates and file names, so the Department can send each unit
its file. Nothing is written when the period has no counted document (exit 1: there is nothing to send).
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from pathlib import Path

import click

from docflow.cli.export_sheets import documents_sheet, figures_sheet, index_row, index_sheet
from docflow.cli.options import config_option
from docflow.cli.report import summary_settings
from docflow.cli.store_location import location_option, reading
from docflow.cli.summary_options import UsageRefused, resolve_unit
from docflow.i18n import _, ngettext
from docflow.reports.export import unit_export, units_to_export
from docflow.reports.metrics import PERIOD_FORMS, Period, parse_period
from docflow.safe_text import for_terminal
from docflow.spreadsheets import write_csv, write_xlsx

__all__ = ["export", "file_stem", "unique_stem", "INDEX_STEM", "STEM_MAX"]

INDEX_STEM = "index"
STEM_MAX = 80
"""Characters in a file's stem: three UTF-8 bytes each at most, so a name stays under the 255 bytes of ext4 and
NTFS, and a path under Windows' 260 characters in any reasonable folder."""

_FORBIDDEN = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))}
)


def file_stem(code: str, name: str | None) -> str:
    """``CODE - Name`` as a file name every system takes: Windows' forbidden characters become ``_``, no leading
    dot (a hidden file) nor trailing dot or space (Windows drops them), no device name (``CON``), bounded length."""
    text = f"{code} - {name}" if name and name != code else code
    text = " ".join(_FORBIDDEN.sub("_", unicodedata.normalize("NFC", for_terminal(text))).split())
    text = text[:STEM_MAX].strip(". ") or "_"
    if text.split(".")[0].strip().upper() in _RESERVED:
        text = "_" + text
    return text


def unique_stem(stem: str, used: set[str]) -> str:
    """``stem``, or ``stem (2)``… when another file of this export has it (compared as Windows does, ignoring case)."""
    candidate, number = stem, 2
    while candidate.casefold() in used:
        suffix = f" ({number})"
        candidate, number = stem[: STEM_MAX - len(suffix)].rstrip(". ") + suffix, number + 1
    used.add(candidate.casefold())
    return candidate


def _unit_code(conn: sqlite3.Connection, text: str) -> str:
    try:
        return resolve_unit(conn, text)
    except UsageRefused:
        raise
    except click.ClickException as error:  # no unit fits: a usage error here, as a wrong --period is
        raise UsageRefused(error.message) from error


def _period(text: str) -> Period:
    try:
        return parse_period(text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--period") from error


def _write(conn: sqlite3.Connection, period: Period, unit: str | None, out_dir: Path) -> tuple[int, int]:
    """Each unit's two files, then the index; (units, documents) written."""
    units = units_to_export(conn, period, summary_settings(), unit)
    if not units:
        return 0, 0
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise click.ClickException(
            _("cannot create {folder}: {reason}").format(folder=out_dir, reason=error)
        ) from error
    used, index_rows, documents = {INDEX_STEM}, [], 0
    for row in units:
        exported = unit_export(conn, row, period)
        stem = unique_stem(file_stem(row.unit.code, row.unit.name), used)
        sheet = documents_sheet(exported)
        write_xlsx(out_dir / f"{stem}.xlsx", [sheet, figures_sheet(row, period)])
        write_csv(out_dir / f"{stem}.csv", sheet)
        index_rows.append(index_row(row, period, f"{stem}.xlsx"))
        documents += len(sheet.rows)
    index = index_sheet(index_rows)
    write_xlsx(out_dir / f"{INDEX_STEM}.xlsx", [index])
    write_csv(out_dir / f"{INDEX_STEM}.csv", index)
    return len(units), documents


@click.command(epilog="Example: docflow export --period 2026-11 --out so-lieu-2026-11")
@config_option
@location_option
@click.option("--period", required=True, help=f"{PERIOD_FORMS[0].upper()}{PERIOD_FORMS[1:]}.")
@click.option("--unit", "unit_text", metavar="CODE|NAME",
              help="Only this unit, by code or name (diacritics optional: 'so y te').")  # fmt: skip
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write into (created if missing; files of the same name are replaced).")  # fmt: skip
def export(db: str | None, period: str, unit_text: str | None, out_dir: Path) -> None:
    """Write each unit's counted documents, how each was counted and why, as .xlsx and CSV, with an index."""
    chosen = _period(period)
    with reading(db) as conn:
        code = _unit_code(conn, unit_text) if unit_text else None
        units, documents = _write(conn, chosen, code, out_dir)
    if not units:
        message = _("No counted document in period {period}: no file was written.")
        click.echo(for_terminal(message.format(period=chosen.label)), err=True)
        raise SystemExit(1)
    done = ngettext(
        "Wrote the files of {units} unit ({documents} documents) to {folder}; {index} lists it.",
        "Wrote the files of {units} units ({documents} documents) to {folder}; {index} lists them.",
        units,
    )
    click.echo(for_terminal(done.format(units=units, documents=documents, folder=out_dir, index="index.xlsx")))
