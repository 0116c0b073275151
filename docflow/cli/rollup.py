"""``docflow rollup``: provinces' exports into a national store (SQLite or PostgreSQL), one transaction each.

The library is ``docflow.reports.national`` (reading an export) and ``docflow.store.national`` (writing it);
this module parses options and says, per file, what was taken, what was left out and why, or why it was refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from docflow.cli.options import config_option
from docflow.cli.rollup_documents import roll_up_store_documents
from docflow.cli.store_location import chosen_location, location_option
from docflow.i18n import _, ngettext
from docflow.reports.metrics import PERIOD_FORMS, parse_period
from docflow.reports.national import ExportRefused, province_codes, read_export
from docflow.safe_text import for_terminal
from docflow.store.database import Database, open_database
from docflow.store.national import RollupOutcome, RollupResult, UnitsTaken, prepare_national, roll_up

__all__ = ["rollup"]


def _said(result: RollupResult) -> str:
    export = result.export
    units = len(export.units)
    if result.outcome is RollupOutcome.UNCHANGED:
        head = _("unchanged: this export was rolled up already")
    elif result.outcome is RollupOutcome.REPLACED:
        head = ngettext(
            "replaced the province's earlier export: {count} unit (it had {before})",
            "replaced the province's earlier export: {count} units (it had {before})",
            units,
        ).format(count=units, before=result.previous_units)
    else:
        head = ngettext("added {count} unit", "added {count} units", units).format(count=units)
    notes = []
    if export.left_out_other_province:
        notes.append(
            _("{count} of other provinces left out (each comes from its own province's export)").format(
                count=export.left_out_other_province
            )
        )
    if export.left_out_malformed:
        notes.append(
            _("{count} with a malformed code left out (no province can be said to own them)").format(
                count=export.left_out_malformed
            )
        )
    return f"{head}" + (f"; {'; '.join(notes)}" if notes else "")


def _as_json(file: Path, result: RollupResult | None, reason: str | None) -> dict[str, object]:
    if result is None:
        return {"file": str(file), "outcome": "refused", "reason": reason}
    export = result.export
    return {
        "file": str(file),
        "province": export.province,
        "period": export.period,
        "outcome": result.outcome.value,
        "units": len(export.units),
        "previous_units": result.previous_units,
        "left_out_other_province": export.left_out_other_province,
        "left_out_malformed": export.left_out_malformed,
        "sha256": export.sha256,
    }


def _one(db: Database, file: Path, period: str, provinces: tuple[str, ...] | None) -> RollupResult:
    return roll_up(db, read_export(file, parse_period(period), provinces))


@click.command(
    epilog="Example: docflow rollup --db postgresql://docflow@localhost/national --period 2025 bac-kan-2025.json"
)
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@config_option
@location_option
@click.option("--period", required=True, help=f"The period the exports are of: {PERIOD_FORMS}.")
@click.option(
    "--province",
    "province",
    metavar="CODES",
    help="The level-1 codes the exports own, such as H04 or H04,H55 after a merger (default: the codes of the "
    "units on each export's unit list).",
)
@click.option(
    "--documents",
    "stores",
    multiple=True,
    metavar="STORE",
    help="Also roll in this province store's own documents of the period (an SQLite file or postgresql:// URL; "
    "repeat for several provinces).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file or store.")
def rollup(
    files: tuple[Path, ...], db: str | None, period: str, province: str | None, stores: tuple[str, ...], as_json: bool
) -> None:
    """Roll provinces' exports ('docflow summary --period P --all --json') into a national store, each unit
    from its own province only; rolling up a province's period again replaces it. --documents STORE rolls in a
    province store's own documents too."""
    if not files and not stores:
        raise click.UsageError(_("give at least one export file, or --documents STORE"))
    try:
        parse_period(period)
        provinces = province_codes(province) if province else None
    except (ValueError, ExportRefused) as error:
        raise click.BadParameter(str(error)) from error
    refused = 0
    reports: list[dict[str, object]] = []
    with open_database(chosen_location(db)) as store:
        prepare_national(store, create=True)
        for file in files:
            try:
                result: RollupResult | None = _one(store, file, period, provinces)
                reason = None
            except (ExportRefused, UnitsTaken) as error:
                result, reason = None, str(error)
                refused += 1
            reports.append(_as_json(file, result, reason))
            if as_json:
                continue
            if result is None:
                click.echo(for_terminal(_("{file}: refused: {reason}").format(file=file, reason=reason)), err=True)
            else:
                shown = _("{file}: {province}, {period}: {what}").format(
                    file=file, province=result.export.province, period=result.export.period, what=_said(result)
                )
                click.echo(for_terminal(shown))
        for store_text in stores:
            said = roll_up_store_documents(store, store_text, period, provinces)
            refused += said.reason is not None
            reports.append(said.to_json())
            if not as_json:
                said.say()
    if as_json:
        click.echo(json.dumps(reports, ensure_ascii=False, indent=2))
    if refused:
        raise SystemExit(1)
