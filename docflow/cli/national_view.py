"""``docflow summary`` on a national store: by level, the whole country first, then each province worst first.

The figures are ``docflow.reports.national``'s; this module lays them out as a table per level, JSON or CSV.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import click
from rich.console import Console

from docflow.cli.summary_words import percent
from docflow.cli.tables import FittedTable, TableColumn
from docflow.i18n import _, ngettext
from docflow.reports.metrics import Period, SummarySettings
from docflow.reports.national import (
    WHOLE_COUNTRY,
    ExportRefused,
    NationalSummary,
    ProvinceLevel,
    national_summary,
    province_codes,
    province_units,
)
from docflow.reports.units import LEVEL_LABELS
from docflow.safe_text import for_terminal
from docflow.spreadsheets import csv_lines
from docflow.store.database import Database
from docflow.store.national import rolled_up_periods

__all__ = ["NationalChoice", "show_national"]

_CSV_FIELDS = ("province", "level", "units", "outgoing", "outgoing_issued_electronic", "e_issuance_rate",
               "outgoing_electronic", "outgoing_signed_valid", "signature_rate", "outgoing_nd30", "nd30_rate",
               "incoming", "incoming_electronic", "incoming_electronic_rate", "target", "tier")  # fmt: skip


_UNIT_CSV_FIELDS = ("unit", "name", *_CSV_FIELDS[1:2], *_CSV_FIELDS[3:])
"""A province's units: its fields without ``province`` and ``units``."""


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


@dataclass(frozen=True)
class NationalChoice:
    """What ``docflow summary`` was asked for on a national store."""

    level: str | None = None
    province: str | None = None
    """A level-1 code: that province's units instead of the provinces."""
    as_json: bool = False
    as_csv: bool = False


def show_national(
    db: Database, period: Period, settings: SummarySettings, choice: NationalChoice, console: Console
) -> None:
    """Print the national summary of ``period``: the provinces by level, or one province's units."""
    if choice.province:
        _show_units(db, period, settings, choice, console)
        return
    result = national_summary(db, period, settings)
    if not result.rows:
        _refuse_empty(db, period)
    rows: Sequence[ProvinceLevel] = [row for row in result.rows if choice.level in (None, row.level)]
    if choice.as_json:
        click.echo(json.dumps(_json_rows(result, rows), ensure_ascii=False, indent=2))
    elif choice.as_csv:
        for line in csv_lines(_CSV_FIELDS, ([row.to_json()[name] for name in _CSV_FIELDS] for row in rows)):
            click.echo(line, nl=False)
    else:
        _render(NationalSummary(result.period, tuple(rows), result.exports), console)


def _show_units(db: Database, period: Period, settings: SummarySettings, choice: NationalChoice,
                console: Console) -> None:  # fmt: skip
    try:
        code = province_codes(choice.province or "")
    except ExportRefused as error:
        raise click.BadParameter(str(error), param_hint="--province") from None
    units = [u for u in province_units(db, period, code[0], settings) if choice.level in (None, u.level)]
    if not units:
        raise click.ClickException(
            _("no unit of {province} in the national store for {period}").format(province=code[0], period=period.label)
        )
    if choice.as_json:
        click.echo(json.dumps([unit.to_json() for unit in units], ensure_ascii=False, indent=2))
        return
    if choice.as_csv:
        for line in csv_lines(_UNIT_CSV_FIELDS, ([u.to_json()[name] for name in _UNIT_CSV_FIELDS] for u in units)):
            click.echo(line, nl=False)
        return
    console.print(_("Units of {province} — period {period}").format(province=code[0], period=period.label),
                  highlight=False, markup=False)  # fmt: skip
    headers = (_("Code"), _("Unit"), _("E-issue"), _("Tier"), _("Outgoing"), _("Signed"), _("NĐ 30"))
    columns = [TableColumn(header, wraps=index == 1, justify="left" if index in (0, 1, 3) else "right",
                           min_width=4) for index, header in enumerate(headers)]  # fmt: skip
    for level in dict.fromkeys(unit.level for unit in units):
        cells = [(u.code, u.name, percent(u.rates.e_issuance_rate), u.tier, f"{u.counters.outgoing:,}",
                  percent(u.rates.signature_rate), percent(u.rates.nd30_rate))
                 for u in units if u.level == level]  # fmt: skip
        target = next(unit.target for unit in units if unit.level == level)
        title = _("{level} — e-issuance target {target}").format(
            level=_(LEVEL_LABELS.get(level, level)), target=percent(target)
        )
        console.print(FittedTable(title, columns, cells))
