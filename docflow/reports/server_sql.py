"""``docflow sql`` on a PostgreSQL store: one statement, read-only, within a time limit.

Three walls, each enough alone: the connection's transactions are read-only (``default_transaction_read_only``,
``docflow.store.database``), the statement runs as a cursor the server declares (only a query can be, and only
one), inside a transaction set ``READ ONLY`` before it and rolled back after it; and the role the auditor
connects as should hold nothing but ``SELECT`` (``docs/schema.md``, "Read-only access on PostgreSQL"). The
server's ``statement_timeout`` bounds each statement, the fetches included.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from docflow.i18n import N_, _
from docflow.reports.audit import QueryLimits, QueryStopped, ReadOnlyError
from docflow.reports.queryable import DESCRIPTIONS, ColumnInfo, Queryable, UnknownTable
from docflow.store.database import Database

__all__ = ["ServerRows", "server_query_rows", "server_queryables", "server_columns_of"]

_QUERY_WORDS = frozenset({"select", "with", "values", "table", "("})
"""How a query can begin; anything else is refused before the server sees it (and the server would refuse it)."""

_FETCH = 1000
"""Rows fetched from the server's cursor at a time: a result of any size never sits in memory whole."""


_INTERRUPTED = N_("stopped: the query was interrupted (Ctrl-C)")


def _reason(error: Exception, limits: QueryLimits, stop: threading.Event | None) -> ReadOnlyError:
    import psycopg.errors

    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if isinstance(error, psycopg.errors.QueryCanceled) and stop is not None and stop.is_set():
        return QueryStopped(_(_INTERRUPTED), by_user=True)
    if isinstance(error, psycopg.errors.QueryCanceled):
        return QueryStopped(
            _(
                "stopped after {seconds:g} s, the time limit of one query: narrow it "
                "(WHERE, LIMIT) or allow more time with --timeout SECONDS"
            ).format(seconds=limits.timeout or 0),
            by_user=False,
        )
    if isinstance(error, psycopg.errors.ReadOnlySqlTransaction | psycopg.errors.InsufficientPrivilege):
        return ReadOnlyError(
            _("refused: {error}. docflow sql is read-only: one query, no writes, no settings changed").format(
                error=first
            )
        )
    return ReadOnlyError(_("query failed: {error}").format(error=first))


class ServerRows:
    """The rows of the running query, as ``docflow.reports.audit.QueryRows`` gives them on SQLite."""

    def __init__(self, cursor: Any, limits: QueryLimits, stop: threading.Event | None) -> None:
        self.columns: tuple[str, ...] = tuple(column.name for column in cursor.description or ())
        self.truncated = False
        self._cursor = cursor
        self._limits = limits
        self._stop = stop

    def __iter__(self) -> Iterator[tuple[object, ...]]:
        import psycopg

        count = 0
        while True:
            try:
                batch = self._cursor.fetchmany(_FETCH)
            except psycopg.Error as error:
                raise _reason(error, self._limits, self._stop) from None
            if not batch:
                return
            for row in batch:
                if self._limits.max_rows is not None and count >= self._limits.max_rows:
                    self.truncated = True
                    return
                count += 1
                yield tuple(row)


@contextmanager
def server_query_rows(
    db: Database, query: str, limits: QueryLimits = QueryLimits(), stop: threading.Event | None = None
) -> Iterator[ServerRows]:
    """Run ``query`` on ``db`` (opened read-only, with its statement timeout); ReadOnlyError on refusal or failure.
    Read the rows inside the ``with``: the transaction ends, rolled back, with it. ``stop``: set when the user
    asked to stop, by whoever also cancelled the statement on the server (``Connection.cancel_safe``)."""
    import psycopg

    first_word = query.strip().split(None, 1)[0].lower() if query.strip() else ""
    if first_word not in _QUERY_WORDS:
        raise ReadOnlyError(
            _("refused: {word}. docflow sql is read-only: one query (SELECT, WITH, VALUES or TABLE)").format(
                word=first_word.upper() or _("an empty statement")
            )
        )
    connection = db.connection
    try:
        with connection.transaction(force_rollback=True):
            connection.execute("SET TRANSACTION READ ONLY")
            with connection.cursor(name="docflow_sql") as cursor:
                cursor.execute(query.strip().rstrip(";"))
                yield ServerRows(cursor, limits, stop)
    except psycopg.Error as error:
        raise _reason(error, limits, stop) from None
    except KeyboardInterrupt:
        # Without a handler of docflow's, psycopg has cancelled the statement itself: said as on SQLite.
        raise QueryStopped(_(_INTERRUPTED), by_user=True) from None


def server_queryables(db: Database) -> tuple[Queryable, ...]:
    """The schema's tables and views, each with its row count."""
    rows = db.execute(
        "SELECT c.relname, CASE WHEN c.relkind = 'v' THEN 'view' ELSE 'table' END FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
        " AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition ORDER BY c.relkind = 'v' DESC, c.relname"
    ).fetchall()
    return tuple(
        Queryable(str(name), str(kind), int(db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]),
                  DESCRIPTIONS.get(str(name), ""))
        for name, kind in rows
    )  # fmt: skip


def server_columns_of(db: Database, name: str) -> tuple[ColumnInfo, ...]:
    rows = db.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
        " COALESCE(a.attnum = ANY(i.indkey), false) FROM pg_attribute a"
        " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary"
        " WHERE n.nspname = current_schema() AND lower(c.relname) = lower(?) AND a.attnum > 0"
        " AND NOT a.attisdropped ORDER BY a.attnum",
        (name,),
    ).fetchall()
    if not rows:
        raise UnknownTable(name)
    return tuple(ColumnInfo(str(n), str(t), bool(nn), bool(pk)) for n, t, nn, pk in rows)
