"""``docflow reverify``: judge stored signatures again against the current trust store (docflow.ingest.reverify)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from docflow.cli.audit_view import verdict_label
from docflow.cli.ingest import _DB_OPTION, _WORKERS_OPTION, _defaults, _load_trust, _setup_logging, _with_workers
from docflow.cli.options import config_option
from docflow.cli.store_location import payload_folder, store_target
from docflow.cli.tables import FittedTable, TableColumn
from docflow.i18n import N_, _
from docflow.ingest.reverify import (
    ReverifyProgress,
    ReverifyResult,
    ReverifyScope,
    UnavailableSignature,
    VerdictChange,
)
from docflow.ingest.reverify import reverify as reverify_store
from docflow.reports.metrics import parse_period
from docflow.safe_text import cell, for_terminal
from docflow.store.connection import open_reader
from docflow.store.core import Store, check_store_file
from docflow.store.location import parse_location

__all__ = ["reverify"]

_TABLE_ROWS = 100
"""Rows of each table at most: a run may change a whole archive's verdicts; --json lists every one."""
_NO_DOCUMENT = N_("(no document)")
_ALL_CHANGES = N_('docflow sql "SELECT * FROM verdict_changes ORDER BY id DESC" lists every change')
_TRUST_CHOICES = N_("give --trust DIR or set trust in [paths] of docflow.toml: re-verification judges against it")


@click.command(epilog="Example: docflow reverify --trust trust --period 2026-10")
@config_option
@_DB_OPTION
@click.option(
    "--trust",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Trust directory: anchors, intermediates, CRLs (default: [paths] trust of docflow.toml).",
)
@click.option("--period", help="Only documents of this period: 2026-10 (month), 2026-Q3 (quarter) or 2026 (year).")
@click.option("--unit", "unit", help="Only documents this unit (code) sent.")
@click.option("--all", "everything", is_flag=True, help="Every signature in scope, not only those that could change.")
@_WORKERS_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON line per change, then the totals.")
def reverify(
    db: str | None,
    trust: Path | None,
    period: str | None,
    unit: str | None,
    everything: bool,
    workers: int | None,
    as_json: bool,
) -> None:
    """Judge stored signatures again against the current trust store and write the new verdicts.

    By default takes those whose verdict could change: never checked against a trust anchor, INDETERMINATE, or
    judged under an earlier trust store whose change (a CRL or certificate added, replaced or removed) touches
    their certificate chain. Every change is kept and shown by `docflow audit`.
    """
    console = Console(stderr=True)
    _setup_logging(console)
    defaults = _defaults()
    months = None
    if period is not None:
        try:
            months = parse_period(period).months
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--period") from error
    store_path = store_target(db)
    if isinstance(store_path, Path):
        check_store_file(store_path, create=False)  # nothing to re-verify in a store that is not there: no new one
    else:
        open_reader(parse_location(store_path)).close()  # a database that is not a docflow store is left alone
    trust_store = _load_trust(trust or defaults.trust, False, _TRUST_CHOICES)
    assert trust_store is not None  # only --no-trust gives none
    options = _with_workers(defaults.options, workers)
    scope = ReverifyScope(months, unit.strip() if unit else None, everything)
    heard = _Heard(as_json)
    with Store.open(store_path, payloads=payload_folder(store_path)) as store, _progress(console) as progress:
        result = reverify_store(
            store,
            trust_store,
            scope,
            kinds=options.kinds,
            workers=options.workers,
            progress=progress,
            listener=heard,
        )
    if as_json:
        click.echo(json.dumps(_totals(result)))
    else:
        _print_table(result, heard)


@contextmanager
def _progress(console: Console) -> Iterator[ReverifyProgress | None]:
    """A bar on stderr when it is a terminal; nothing otherwise."""
    if not console.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn(_("re-verifying")),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task(_("signatures"), total=None)

    def report(total: int, done: int) -> None:
        bar.update(task, total=total, completed=done)

    with bar:
        yield report


class _Heard:
    """What the run reports as it writes: with --json each change and each signature not verified again is a
    line at once (a run may change a whole archive's verdicts: none is held); for the tables, the first
    ``_TABLE_ROWS`` of each, the counts coming from the result."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.changes: list[VerdictChange] = []
        self.unavailable: list[UnavailableSignature] = []

    def __call__(self, heard: VerdictChange | UnavailableSignature) -> None:
        if self.as_json:
            click.echo(json.dumps(_json_line(heard), ensure_ascii=False))
        elif isinstance(heard, VerdictChange):
            if len(self.changes) < _TABLE_ROWS:
                self.changes.append(heard)
        elif len(self.unavailable) < _TABLE_ROWS:
            self.unavailable.append(heard)


def _json_line(heard: VerdictChange | UnavailableSignature) -> dict[str, object]:
    if isinstance(heard, UnavailableSignature):
        return {"document_id": heard.document_id, "index": heard.index, "unavailable": heard.reason}
    return {
        "document_id": heard.document_id,
        "index": heard.index,
        "before": heard.before.to_json(),
        "after": heard.after.to_json(),
        "reason": heard.reason,
    }


def _totals(result: ReverifyResult) -> dict[str, int]:
    return {
        "checked": result.checked,
        "changed": result.changed,
        "unchanged": result.unchanged,
        "unavailable": result.unavailable,
    }


def _print_table(result: ReverifyResult, heard: _Heard) -> None:
    console = Console(highlight=False)
    changes = [
        (
            change.document_id or _(_NO_DOCUMENT),
            change.index,
            verdict_label(change.before.indication, change.before.subindication),
            verdict_label(change.after.indication, change.after.subindication),
            change.reason or "",
        )
        for change in heard.changes
    ]
    columns = (_("document"), _("index"), _("before"), _("after"), _("reason"))
    _print_rows(console, _("Changed verdicts"), columns, changes, _CHANGE_SHAPES)
    if result.changed > _TABLE_ROWS:
        more = _("… and {count:,} more: {how}").format(count=result.changed - _TABLE_ROWS, how=_(_ALL_CHANGES))
        console.print(more, markup=False)
    unavailable = [
        (missing.document_id or _(_NO_DOCUMENT), missing.index, missing.reason) for missing in heard.unavailable
    ]
    title = _("Not verified again (verdict unchanged)")
    _print_rows(console, title, (_("document"), _("index"), _("why")), unavailable, _UNAVAILABLE_SHAPES)
    if result.unavailable > _TABLE_ROWS:
        more = _("… and {count:,} more: see --json").format(count=result.unavailable - _TABLE_ROWS)
        console.print(more, markup=False)
    totals = _("{checked} checked, {changed} changed, {unchanged} unchanged, {unavailable} unavailable")
    click.echo(for_terminal(totals.format(**_totals(result))))


# A document's identifier is what 'docflow audit' takes, and a verdict is one word: neither is broken.
_DOCUMENT = TableColumn("", wraps=False)
_INDEX = TableColumn("", wraps=False, justify="right")
_VERDICT = TableColumn("", fold_over=48)
_REASON = TableColumn("", min_width=20)
_CHANGE_SHAPES = (_DOCUMENT, _INDEX, _VERDICT, _VERDICT, _REASON)
_UNAVAILABLE_SHAPES = (_DOCUMENT, _INDEX, _REASON)


def _print_rows(
    console: Console,
    title: str,
    columns: tuple[str, ...],
    rows: Sequence[tuple[object, ...]],
    shapes: tuple[TableColumn, ...],
) -> None:
    if not rows:
        return
    shaped = [replace(shape, header=column) for column, shape in zip(columns, shapes)]
    console.print(FittedTable(title, shaped, [tuple(cell(value) for value in row) for row in rows]))
