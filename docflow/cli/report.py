"""``docflow summary``, ``units``, ``certs``, ``audit`` and ``demo``: parse options, call the library, print
(``docflow sql`` is ``docflow.cli.sql``).

Reading commands open the store read-only (``docflow.reports.audit.open_readonly``, over the store's one
read-only opener ``docflow.store.connection.open_reader``); the two
import commands open it through ``docflow.store.core`` so migrations apply.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

import click
from rich.console import Console

from docflow.cli.audit_view import render_trail
from docflow.cli.certs_view import EXPIRING_HELP, IMPORT_HELP, UNIT_HELP, render_review
from docflow.cli.national_view import NationalChoice, show_national
from docflow.cli.options import config_option, current_config
from docflow.cli.store_location import chosen_location, location_option, reading, store_target
from docflow.cli.summary_options import FAIL_HELP, UsageRefused, fails_on, parse_fail_on_flags, resolve_unit
from docflow.cli.summary_view import (
    detail_csv,
    render_detail,
    render_summary,
    summary_csv,
    summary_json,
    unit_detail,
)
from docflow.cli.summary_words import life_span_notes
from docflow.cli.tables import FittedTable, TableColumn
from docflow.i18n import _, ngettext
from docflow.records import RejectedItem
from docflow.reports.audit import (
    audit_trail,
    similar_document_ids,
)
from docflow.reports.certs import import_issued, review_certificates
from docflow.reports.metrics import LEVELS, PERIOD_FORMS, Period, SummarySettings, latest_year, parse_period
from docflow.reports.summary import summarise
from docflow.reports.units import LEVEL_LABELS, import_units, load_successors, load_units
from docflow.safe_text import for_terminal
from docflow.store.core import Store, retry_while_busy
from docflow.store.database import Database, open_database
from docflow.store.errors import StoreError
from docflow.store.location import StoreLocation
from docflow.store.national import is_national, prepare_national, rolled_up_periods

__all__ = ["summary", "units", "certs", "audit", "demo", "summary_settings", "default_db"]

DEMO_SCALE = 0.6
"""About 3 000 documents: enough for every unit to be ranked and every behaviour to
show, while building and ingesting stay well under a minute on two cores."""

ImportFunction = Callable[[sqlite3.Connection, Path], None]


def default_db() -> Path:
    return Path(current_config().db_path)


def summary_settings() -> SummarySettings:
    """Targets and the unranked threshold from docflow.toml ``[summary]`` (tiers are Đạt/Chưa đạt against
    each level's NQ 17 target, see docs/metrics.md)."""
    config = current_config().summary
    return SummarySettings(
        level_targets=tuple(config.targets.items()),
        min_documents=config.min_documents,
        structures=tuple((start, tuple(targets.items())) for start, targets in config.structures),
    )


def _console() -> Console:
    # rich reads NO_COLOR itself; saying it here keeps the behaviour explicit for scripts.
    return Console(no_color=bool(os.environ.get("NO_COLOR")) or None, highlight=False)


def _echo_json(value: object) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _db_option(function: click.decorators.FC) -> click.decorators.FC:
    return location_option(function)


def is_national_location(location: StoreLocation) -> bool:
    """A national store (``docflow rollup``'s), on either engine."""
    try:
        with open_database(location, readonly=True) as database:
            return is_national(database)
    except StoreError:
        return False  # not there or not SQLite: the province store's opener says why


def _latest_rolled_up(national: Database) -> Period:
    periods = rolled_up_periods(national)
    if not periods:
        raise click.ClickException(_("the national store is empty: roll provinces' exports in with 'docflow rollup'"))
    return parse_period(periods[-1])


def _report_rejected(rejected: tuple[RejectedItem, ...]) -> None:
    for item in rejected:
        click.echo(
            for_terminal(_("rejected {item}: {reason}").format(item=item.item_name, reason=item.reason)), err=True
        )


def _period(conn: sqlite3.Connection, text: str | None) -> tuple[Period, bool]:
    if text:
        try:
            return parse_period(text), False
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--period") from error
    latest = latest_year(conn)
    if latest is None:
        raise click.ClickException(_("the store has no documents yet: run 'docflow ingest' or 'docflow demo'"))
    return latest, True


# Enough for a province's communes (Bắc Kạn has 109) while a national store stays readable.
SUMMARY_ROWS_PER_LEVEL = 120


@click.command(epilog="Example: docflow summary --period 2026-Q3 --level district --behind")
@config_option
@location_option
@click.option("--period", help=f"{PERIOD_FORMS[0].upper()}{PERIOD_FORMS[1:]}; default: latest year with data.")
@click.option("--level", type=click.Choice(LEVELS), help="Only units of this level.")
@click.option(
    "--unit",
    "unit_code",
    metavar="CODE|NAME",
    help="Drill into one unit, by code or name (diacritics optional: 'so y te'): its documents failing each rate "
    "and why. Several units fitting a name are listed.",
)
@click.option("--behind", is_flag=True, help="Only the units below their level's target.")
@click.option(
    "--province",
    metavar="CODE",
    help="On a national store (docflow rollup): the units of one province (H04), worst first within each level.",
)
@click.option(
    "--as-issued",
    is_flag=True,
    help="Units as they were when each document was issued; by default the units in force at the end of the "
    "period, each counting its predecessors' documents.",
)
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per unit (--unit: one object).")
@click.option("--csv", "as_csv", is_flag=True, help="One CSV row per unit (--unit: per failing document).")
@click.option("--fail-on-flags", "fail_on", is_flag=False, flag_value="default", default=None, metavar="[=WORDS]",
              help=FAIL_HELP)  # fmt: skip
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help=f"Show every unit; by default the worst {SUMMARY_ROWS_PER_LEVEL} of each level.",
)
def summary(
    db: str | None, period: str | None, level: str | None, unit_code: str | None, behind: bool, province: str | None,
    as_issued: bool, as_json: bool, as_csv: bool, fail_on: str | None, show_all: bool,
) -> None:  # fmt: skip
    """Per-unit rates, tiers, trends and flags, worst first within each level."""
    if as_json and as_csv:
        raise UsageRefused(_("--json and --csv cannot be used together: choose one"))
    if behind and unit_code:
        raise UsageRefused(_("--behind lists the units below target; --unit shows one unit: choose one"))
    fail_flags = parse_fail_on_flags(fail_on)
    settings = summary_settings()
    location = chosen_location(db)
    if is_national_location(location):
        if unit_code or behind or as_issued or fail_on:
            raise UsageRefused(_("a national store has no units' documents: --unit, --behind, --as-issued and "
                                 "--fail-on-flags need a province's store"))  # fmt: skip
        with open_database(location, readonly=True) as national:
            prepare_national(national, create=False)
            chosen = parse_period(period) if period else _latest_rolled_up(national)
            show_national(national, chosen, settings, NationalChoice(level, province, as_json, as_csv), _console())
        return
    if province:
        raise UsageRefused(_("--province chooses a province of a national store (docflow rollup); this is a "
                             "province's store"))  # fmt: skip
    with reading(location) as conn:
        chosen, is_default = _period(conn, period)
        if unit_code:
            detail = unit_detail(conn, resolve_unit(conn, unit_code), chosen, settings, as_issued)
            if detail.summary is None:
                raise click.ClickException(_("no unit {code} in the store").format(code=unit_code))
            raised: Iterable[str] = detail.summary.flags
            if as_json:
                _echo_json({**detail.summary.to_json(), "failed_documents": [f.to_json() for f in detail.failed]})
            elif as_csv:
                click.echo(detail_csv(detail), nl=False)
            else:
                render_detail(detail, chosen, _console())
        else:
            # The table shows the worst of each level only; JSON, CSV and --all need every unit.
            listed = None if (as_json or as_csv or show_all) else SUMMARY_ROWS_PER_LEVEL
            result = summarise(conn, chosen, settings, level=level, period_is_default=is_default,
                               rows_per_level=listed, behind_only=behind, as_issued=as_issued)  # fmt: skip
            raised = result.flags_seen
            if as_json:
                _echo_json(summary_json(result))
            elif as_csv:
                click.echo(summary_csv(result), nl=False)
            else:
                render_summary(result, _console(), None if show_all else SUMMARY_ROWS_PER_LEVEL)
    if fails_on(raised, fail_flags):
        raise SystemExit(1)


@click.group(invoke_without_command=True, epilog="Example: docflow units --json")
@config_option
@_db_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def units(ctx: click.Context, db: str | None, as_json: bool) -> None:
    """List the units the store knows; 'docflow units import FILE' loads the province's list."""
    ctx.obj = db
    if ctx.invoked_subcommand is not None:
        return
    with reading(db) as conn:
        known = sorted(
            load_units(conn).values(), key=lambda u: (LEVELS.index(u.level) if u.level in LEVELS else 99, u.code)
        )
        successors = load_successors(conn)
    if as_json:
        _echo_json([{**vars(unit), "successors": list(successors.get(unit.code, ()))} for unit in known])
        return
    headers = (_("Code"), _("Name"), _("Level"), _("Parent unit"), _("Note"))
    # Codes are never broken; the parent and the note give way first on a narrow terminal.
    shape = ((0, False), (0, True), (0, True), (1, False), (2, True))
    columns = [TableColumn(h, priority=p, wraps=w, min_width=12) for h, (p, w) in zip(headers, shape)]
    has_list = any(unit.on_list for unit in known)
    rows = []
    for unit in known:
        notes = [] if unit.code_valid else [_("malformed code")]
        if has_list and not unit.on_list:
            notes.append(_("not on the unit list (unknown)"))
        notes += life_span_notes(unit, successors.get(unit.code, ()))
        level = _(LEVEL_LABELS.get(unit.level, unit.level))
        rows.append((unit.code, unit.name or "", level, unit.parent or "", "; ".join(notes)))
    title = ngettext("{count} unit", "{count} units", len(known)).format(count=len(known))
    _console().print(FittedTable(title, columns, rows))


def _import_command(group: click.Group, help_text: str, example: str) -> Callable[[ImportFunction], ImportFunction]:
    """``GROUP import FILE [--db]``: the group's --db applies too; migrations run on open."""

    def register(function: ImportFunction) -> ImportFunction:
        @group.command("import", help=help_text, epilog=example)
        @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
        @config_option
        @_db_option
        @click.pass_obj
        def command(group_db: str | None, file: Path, db: str | None) -> None:
            with Store.open(store_target(db or group_db)) as store:
                # An import is upserts only: tried again whole while another docflow writes (StoreBusy at last).
                retry_while_busy(lambda: function(store.conn, file))

        return function

    return register


@_import_command(
    units,
    "Load a CSV/JSON list of units (code, name; parent and level optional).",
    "Example: docflow units import don-vi.csv",
)
def _units_import(conn: sqlite3.Connection, file: Path) -> None:
    result = import_units(conn, file)
    _report_rejected(result.rejected)
    count = len(result.imported)
    click.echo(ngettext("imported {count} unit", "imported {count} units", count).format(count=count))
    for code in result.invalid_codes:
        click.echo(for_terminal(_("kept with a malformed agency code (flagged): {code}").format(code=code)))


@click.group(invoke_without_command=True, epilog="Example: docflow certs --unit 'so tai chinh' --expiring-days 60")
@config_option
@_db_option
@click.option("--expiring-days", default=30, show_default=True, type=click.IntRange(min=0), help=EXPIRING_HELP)
@click.option("--unit", "unit_text", metavar="CODE|NAME", help=UNIT_HELP)
@click.option("--json", "as_json", is_flag=True, help="The review as one JSON object (fields: docs/commands.md).")
@click.pass_context
def certs(ctx: click.Context, db: str | None, expiring_days: int, unit_text: str | None, as_json: bool) -> None:
    """Certificates per unit: expiring and expired ones, signatures after expiry, wrong-unit signatures, and
    issued-but-unused ones; a line per unit."""
    ctx.obj = db
    if ctx.invoked_subcommand is not None:
        return
    zone = current_config().display.zone
    with reading(db) as conn:
        code = resolve_unit(conn, unit_text) if unit_text else None
        review = review_certificates(conn, expiring_days, zone=zone)
    if code is not None:
        review = review.for_unit(code)
    if as_json:
        _echo_json(review.to_json())
    else:
        render_review(review, _console())


@_import_command(certs, IMPORT_HELP, "Example: docflow certs import chung-thu-da-cap.csv")
def _certs_import(conn: sqlite3.Connection, file: Path) -> None:
    result = import_issued(conn, file)
    _report_rejected(result.rejected)
    click.echo(
        ngettext("imported {count} issued certificate", "imported {count} issued certificates", result.imported).format(
            count=result.imported
        )
    )


@click.command(epilog="Example: docflow audit '000.00.01.H04,2026/03/02,12/UBND-VP'")
@config_option
@_db_option
@click.argument("document_id")
@click.option("--json", "as_json", is_flag=True)
def audit(db: str | None, document_id: str, as_json: bool) -> None:
    """Everything about one document: its batches, each signature verdict in full, its status events."""
    with reading(db) as conn:
        trail = audit_trail(conn, document_id)
        suggestions = similar_document_ids(conn, document_id) if trail is None else ()
    if trail is None:
        hint = _("; did you mean: {ids}").format(ids=for_terminal(", ".join(suggestions))) if suggestions else ""
        raise click.ClickException(_("no document {id!r} in the store{hint}").format(id=document_id, hint=hint))
    if as_json:
        _echo_json(trail.to_json())
    else:
        render_trail(trail, _console())


@click.command(epilog="Example: docflow demo --keep")
@config_option
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="Build here instead of a temporary folder."
)
@click.option(
    "--scale",
    default=DEMO_SCALE,
    show_default=True,
    type=click.FloatRange(min=0.01),
    help=(
        "Volume: 1 is January 2025 to September 2026 (about 5 900 documents); "
        "the default keeps the demo under a minute."
    ),
)
@click.option("--keep", is_flag=True, help="Keep the temporary folder and print where it is.")
def demo(out: Path | None, scale: float, keep: bool) -> None:
    """Build a demo province, ingest it as the watcher would, and print the summary."""
    # Imported here: the demo pulls in the sample PKI and PDF signer, which no other
    # command needs at start-up.
    from docflow.cli.demo import DemoError, kept_lines, opening_line, run_demo
    from docflow.watch.watcher import WatchAborted

    console = _console()
    try:
        result = run_demo(console, out=out, scale=scale, keep=keep, settings=summary_settings())
    except (DemoError, WatchAborted) as error:
        raise click.ClickException(str(error)) from error
    console.print(opening_line(result), highlight=False, markup=False)
    render_summary(result.summary, console)
    if result.kept_at is not None:
        for line in kept_lines(result.kept_at):
            console.print(line, highlight=False, markup=False, soft_wrap=True)
