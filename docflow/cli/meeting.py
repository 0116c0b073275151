"""``docflow report``: the steering committee's report, as HTML, PDF or a workbook (issue 18 §2).

The figures are ``docflow.reports.meeting``'s (the summary's, compared with the previous period); this module
picks the period, draws the page and writes the file the extension of ``--out`` asks for.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo
from pathlib import Path

import click

from docflow.cli.meeting_charts import report_charts
from docflow.cli.meeting_html import render_html
from docflow.cli.meeting_words import period_words
from docflow.cli.options import config_option, current_config
from docflow.cli.report import summary_settings
from docflow.cli.store_location import location_option, reading
from docflow.i18n import N_, _
from docflow.reports.meeting import MeetingReport, meeting_report
from docflow.reports.metrics import LEVELS, PERIOD_FORMS, Period, latest_year, parse_period

__all__ = ["report", "SUFFIXES", "OutputRefused"]

SUFFIXES = (".html", ".pdf", ".xlsx")


class OutputRefused(click.ClickException):
    """The report cannot be written as asked (an unknown extension, no PDF maker): exit 2."""

    exit_code = 2


def _zone() -> tzinfo:
    return current_config().display.zone


def _chosen_period(text: str | None, latest: Period | None) -> Period:
    if text:
        try:
            return parse_period(text)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--period") from error
    if latest is None:
        raise click.ClickException(_("the store has no documents yet: run 'docflow ingest' or 'docflow demo'"))
    return latest


def _suffix(out: Path) -> str:
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        raise OutputRefused(_("--out must end in .html, .pdf or .xlsx (given: {name})").format(name=out.name))
    return suffix


def _write_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


_NO_PDF_MAKER = N_(
    "No PDF maker found: install Chromium ('apt-get install chromium') or WeasyPrint ('pip install weasyprint'), "
    "or write the report as .html and print it from a browser."
)


def _write(conn: sqlite3.Connection, report: MeetingReport, out: Path, suffix: str) -> None:
    if suffix == ".xlsx":
        from docflow.cli.meeting_xlsx import write_workbook  # openpyxl only when a workbook is asked for

        write_workbook(out, conn, report)
        return
    html = render_html(report, report_charts(report))
    if suffix == ".html":
        _write_text(out, html)
        return
    from docflow.cli.meeting_pdf import NoPdfMaker, PdfFailed, write_pdf

    try:
        write_pdf(html, out)
    except NoPdfMaker as error:
        raise OutputRefused(_(_NO_PDF_MAKER)) from error
    except PdfFailed as error:
        raise click.ClickException(str(error)) from error


@click.command(epilog="Example: docflow report --period 2026-11 --out bao-cao-2026-11.html")
@config_option
@location_option
@click.option(
    "--period",
    help=f"{PERIOD_FORMS[0].upper()}{PERIOD_FORMS[1:]}; default: the latest year with data, as for 'docflow summary'.",
)
@click.option("--level", type=click.Choice(LEVELS), help="Only units of this level.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write: .html (one self-contained page), .pdf (printed from it) or .xlsx.")  # fmt: skip
@click.option("--province", help="The province's name as the heading gives it (default: from the unit list).")
@click.option("--expiring-days", default=30, show_default=True, type=click.IntRange(min=0),
              help="Certificates ending within this many days of today are listed as expiring.")  # fmt: skip
def report(
    db: str | None, period: str | None, level: str | None, out: Path, province: str | None, expiring_days: int
) -> None:
    """The meeting report: per level, targets, totals, each unit's rates and change, charts, certificates."""
    suffix = _suffix(out)
    zone = _zone()
    with reading(db) as conn:
        chosen = _chosen_period(period, latest_year(conn))
        built = meeting_report(
            conn,
            chosen,
            summary_settings(),
            level=level,
            made_at=datetime.now(zone),
            province=province,
            expiring_days=expiring_days,
        )
        _write(conn, built, out, suffix)
    click.echo(_("Report for {period} written to {path}").format(period=period_words(chosen), path=out))
