"""``docflow summary`` on a national store: by level, the whole country first, then each province worst first.

The figures are ``docflow.reports.national``'s; this module lays them out as a table per level, JSON or CSV.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import click
from rich.console import Console

from docflow.cli.summary_words import percent
from docflow.cli.tables import FittedTable, TableColumn
from docflow.i18n import _, ngettext
from docflow.reports.metrics import Period, SummarySettings
from docflow.reports.national import WHOLE_COUNTRY, NationalSummary, ProvinceLevel, national_summary
from docflow.reports.units import LEVEL_LABELS
from docflow.safe_text import for_terminal
from docflow.spreadsheets import csv_lines
from docflow.store.database import Database
from docflow.store.national import rolled_up_periods

__all__ = ["show_national"]

_CSV_FIELDS = ("province", "level", "units", "outgoing", "outgoing_issued_electronic", "e_issuance_rate",
               "outgoing_electronic", "outgoing_signed_valid", "signature_rate", "outgoing_nd30", "nd30_rate",
               "incoming", "incoming_electronic", "incoming_electronic_rate", "target", "tier")  # fmt: skip


def _province(row: ProvinceLevel, names: dict[str, str]) -> str:
    if row.province == WHOLE_COUNTRY:
        return _("Whole country")
    return f"{names[row.province]} ({row.province})" if names.get(row.province) else row.province


def _render(result: NationalSummary, console: Console) -> None:
    console.print(_("Electronic issuance and digital signatures, all provinces — period {period}").format(
        period=result.period.label), highlight=False, markup=False)  # fmt: skip
    headers = (_("Province"), _("Units"), _("E-issue"), _("Tier"), _("Outgoing"), _("Signed"), _("NĐ 30"),
               _("Incoming"), _("Incoming e"))  # fmt: skip
    columns = [TableColumn(header, wraps=index == 0, justify="left" if index in (0, 3) else "right", min_width=4)
               for index, header in enumerate(headers)]  # fmt: skip
    names = {export.province: export.province_name for export in result.exports}
    for level in dict.fromkeys(row.level for row in result.rows):
        rows = [row for row in result.rows if row.level == level]
        title = _("{level} — e-issuance target {target}").format(
            level=_(LEVEL_LABELS.get(level, level)), target=percent(rows[0].target)
        )
        cells = [(_province(r, names), f"{r.units:,}", percent(r.rates.e_issuance_rate), r.tier,
                  f"{r.counters.outgoing:,}", percent(r.rates.signature_rate), percent(r.rates.nd30_rate),
                  f"{r.counters.incoming:,}", percent(r.rates.incoming_electronic_rate)) for r in rows]  # fmt: skip
        console.print(FittedTable(title, columns, cells))
    # Names come from the provinces' files: shown without their control characters, as every file-supplied text.
    provinces = {export.province: for_terminal(export.province_name or export.province) for export in result.exports}
    count = len(provinces)
    console.print(
        ngettext("From {count} province's export", "From {count} provinces' exports", count).format(count=count)
        + ": "
        + ", ".join(provinces.values()),
        highlight=False,
        markup=False,
    )
    for province, months in result.incomplete.items():
        console.print(
            _("{province}: summed from its monthly exports, without {months}").format(
                province=provinces[province], months=", ".join(months)
            ),
            highlight=False,
            markup=False,
        )


def _json_rows(result: NationalSummary, rows: Sequence[ProvinceLevel]) -> list[dict[str, object]]:
    """Each row's figures, and the months of the period a province summed from months has not rolled up."""
    missing = result.incomplete
    everywhere = sorted({month for months in missing.values() for month in months})
    return [
        {**row.to_json(), "months_missing": everywhere if row.province == WHOLE_COUNTRY else
         list(missing.get(row.province, ()))}
        for row in rows
    ]  # fmt: skip


def _refuse_empty(db: Database, period: Period) -> None:
    known = rolled_up_periods(db)
    if not known:
        raise click.ClickException(_("the national store is empty: roll provinces' exports in with 'docflow rollup'"))
    raise click.ClickException(
        _("nothing was rolled up for {period}; the national store holds: {periods}").format(
            period=period.label, periods=", ".join(known)
        )
    )


def show_national(
    db: Database, period: Period, settings: SummarySettings, level: str | None, as_json: bool, as_csv: bool,
    console: Console,
) -> None:  # fmt: skip
    """Print the national summary of ``period`` (only ``level``'s rows, when given)."""
    result = national_summary(db, period, settings)
    if not result.rows:
        _refuse_empty(db, period)
    rows: Sequence[ProvinceLevel] = [row for row in result.rows if level is None or row.level == level]
    if as_json:
        click.echo(json.dumps(_json_rows(result, rows), ensure_ascii=False, indent=2))
    elif as_csv:
        for line in csv_lines(_CSV_FIELDS, ([row.to_json()[name] for name in _CSV_FIELDS] for row in rows)):
            click.echo(line, nl=False)
    else:
        _render(NationalSummary(result.period, tuple(rows), result.exports), console)
