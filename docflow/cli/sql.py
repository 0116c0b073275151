"""``docflow sql``: one read-only statement over the store, as a table, records, CSV or JSON; and what there is to
query (``--tables``, ``--schema TABLE``).

The store is opened read-only (``docflow.reports.audit``); the table is fitted to the terminal by
``docflow.cli.tables``: when the columns asked for cannot fit, each row is printed as a record, one field a line,
rather than every value cut to "…".
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager

import click
from rich.console import Console

from docflow.cli.options import config_option
from docflow.cli.report import _console, _echo_json
from docflow.cli.store_location import chosen_location, location_option, reading
from docflow.cli.tables import TableColumn, fitted_table
from docflow.i18n import _
from docflow.reports.audit import (
    DEFAULT_TIMEOUT,
    QueryLimits,
    QueryRows,
    QueryStopped,
    ReadOnlyError,
    query_rows,
)
from docflow.reports.queryable import ColumnInfo, Queryable, UnknownTable, columns_of, queryables
from docflow.reports.server_sql import ServerRows, server_columns_of, server_query_rows, server_queryables
from docflow.spreadsheets import csv_lines
from docflow.store.database import open_database
from docflow.store.location import Dialect, StoreLocation

__all__ = ["sql", "SQL_TERMINAL_ROWS"]


def _json_array(items: Iterable[object]) -> Iterator[str]:
    """``json.dumps(list(items), indent=2)`` in pieces, so that a large result is never held whole."""
    opening = "[\n  "
    for item in items:
        yield opening + json.dumps(item, ensure_ascii=False, indent=2, default=str).replace("\n", "\n  ")
        opening = ",\n  "
    yield "[]\n" if opening == "[\n  " else "\n]\n"


SQL_TERMINAL_ROWS = 10_000
"""Rows a table (or CSV/JSON on a terminal) shows unless --limit says otherwise: more is never read on screen."""


def _row_limit(limit: int | None, as_data: bool) -> int | None:
    if limit is not None:
        return limit or None
    return None if as_data and not sys.stdout.isatty() else SQL_TERMINAL_ROWS


@contextmanager
def _stop_on_ctrl_c(on_stop: Callable[[], object] | None = None) -> Iterator[threading.Event]:
    """Ctrl-C sets the event the running query's progress handler reads, which interrupts SQLite; ``on_stop``
    (PostgreSQL: cancel the statement on the server) runs too."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def stopping(_signum: int, _frame: object) -> None:
        stop.set()
        if on_stop is not None:
            on_stop()

    previous = signal.signal(signal.SIGINT, stopping)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _print_sql(rows: QueryRows | ServerRows, as_json: bool, as_csv: bool, vertical: bool) -> None:
    if as_json:
        for piece in _json_array(dict(zip(rows.columns, row)) for row in rows):
            click.echo(piece, nl=False)
    elif as_csv:
        for line in csv_lines(rows.columns, rows):
            click.echo(line, nl=False)
    else:
        # Every column was asked for: none is left out; when they cannot all fit, a record per row.
        columns = [TableColumn(name, min_width=4, fold_over=32) for name in rows.columns]
        console = _console()
        console.print(fitted_table("", columns, list(rows), console.width, vertical=vertical))


def _print_tables(found: tuple[Queryable, ...], as_json: bool, console: Console) -> None:
    if as_json:
        _echo_json([{"name": q.name, "kind": q.kind, "rows": q.rows, "description": q.description} for q in found])
        return
    columns = (
        TableColumn(_("Name"), wraps=False),
        TableColumn(_("Kind"), priority=2, wraps=False),
        TableColumn(_("Rows"), priority=1, justify="right", min_width=1),
        TableColumn(_("What it holds"), min_width=20),
    )
    kinds = {"view": _("view"), "table": _("table")}
    rows = [(q.name, kinds.get(q.kind, q.kind), f"{q.rows:,}", _(q.description)) for q in found]
    title = _("Views and tables docflow sql can read (views made for auditors first)")
    console.print(fitted_table(title, columns, rows, console.width))
    console.print(_("Columns of one: docflow sql --schema NAME"), highlight=False, markup=False)


def _print_schema(read: Callable[[], tuple[ColumnInfo, ...]], name: str, as_json: bool, console: Console) -> None:
    try:
        found = read()
    except UnknownTable as error:
        raise click.ClickException(
            _("no table or view {name!r}; docflow sql --tables lists them").format(name=name)
        ) from error
    if as_json:
        _echo_json([vars(column) for column in found])
        return
    yes = _("yes")
    columns = (
        TableColumn(_("Column"), wraps=False),
        TableColumn(_("Type"), wraps=False),
        TableColumn(_("Not null"), priority=1, min_width=3),
        TableColumn(_("Primary key"), priority=1, min_width=3),
    )
    rows = [(c.name, c.type, yes if c.not_null else "", yes if c.primary_key else "") for c in found]
    console.print(fitted_table(name, columns, rows, console.width))


def _on_server(
    location: StoreLocation, query: str | None, schema_of: str | None, list_tables: bool, timeout: float,
    max_rows: int | None, shape: tuple[bool, bool, bool],
) -> None:  # fmt: skip
    """``docflow sql`` on PostgreSQL: the server keeps it read-only and within ``timeout`` (reports.server_sql)."""
    as_json, as_csv, vertical = shape
    with open_database(location, readonly=True, statement_timeout=timeout or None) as db:
        if list_tables:
            _print_tables(server_queryables(db), as_json, _console())
        elif schema_of is not None:
            _print_schema(lambda: server_columns_of(db, schema_of), schema_of, as_json, _console())
        elif query is not None:
            limits = QueryLimits(timeout=timeout or None, max_rows=max_rows)
            with _stop_on_ctrl_c(db.connection.cancel_safe) as stop:
                _print_query(lambda: server_query_rows(db, query, limits, stop), limits, shape)


@click.command(epilog='Example: docflow sql "SELECT * FROM v_failed_signatures LIMIT 20" --csv')
@config_option
@location_option
@click.argument("query", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.option("--csv", "as_csv", is_flag=True)
@click.option("--vertical", is_flag=True, help="Each row as a record, one field a line (as psql's \\x).")
@click.option(
    "--tables", "list_tables", is_flag=True, help="List the views and tables there are to query, with their rows."
)
@click.option("--schema", "schema_of", metavar="TABLE", help="List the columns of TABLE (or a view) with their types.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds the query may run (0: no limit).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=None,
    help=f"Rows printed at most (0: all). Default: {SQL_TERMINAL_ROWS:,} in a table or on a terminal, "
    "all with --csv/--json to a file or pipe.",
)
def sql(
    db: str | None, query: str | None, as_json: bool, as_csv: bool, vertical: bool, list_tables: bool,
    schema_of: str | None, timeout: float, limit: int | None,
) -> None:  # fmt: skip
    """Run one read-only SQL statement (writes, ATTACH, PRAGMA changes and extensions are refused)."""
    if sum((query is not None, list_tables, schema_of is not None)) != 1:
        raise click.UsageError(_("give one of: a QUERY, --tables, --schema TABLE"))
    location = chosen_location(db)
    if location.dialect is Dialect.POSTGRESQL:
        _on_server(location, query, schema_of, list_tables, timeout, _row_limit(limit, as_json or as_csv),
                   (as_json, as_csv, vertical))  # fmt: skip
        return
    if query is None:
        with reading(location, national_ok=True) as conn:
            if schema_of is not None:
                _print_schema(lambda: columns_of(conn, schema_of), schema_of, as_json, _console())
            else:
                _print_tables(queryables(conn), as_json, _console())
        return
    limits = QueryLimits(timeout=timeout or None, max_rows=_row_limit(limit, as_json or as_csv))
    with reading(location, national_ok=True) as conn, _stop_on_ctrl_c() as stop:
        _print_query(lambda: query_rows(conn, query, limits=limits, stop=stop), limits, (as_json, as_csv, vertical))


def _print_query(
    running: Callable[[], AbstractContextManager[QueryRows | ServerRows]],
    limits: QueryLimits,
    shape: tuple[bool, bool, bool],
) -> None:
    """Print the rows of the query ``running`` starts, on either engine, and say why it stopped, if it did."""
    as_json, as_csv, vertical = shape
    try:
        with running() as rows:
            _print_sql(rows, as_json, as_csv, vertical)
    except QueryStopped as stopped:
        click.echo(_("Error: {message}").format(message=stopped), err=True)
        raise SystemExit(130 if stopped.by_user else 1) from stopped
    except ReadOnlyError as error:
        raise click.ClickException(str(error)) from error
    if rows.truncated:
        click.echo(
            _("… only the first {rows:,} rows are shown; --limit N shows more, --limit 0 all.").format(
                rows=limits.max_rows
            ),
            err=as_json or as_csv,
        )
