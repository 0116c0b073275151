"""A PostgreSQL connection that answers as docflow's ``sqlite3`` connections do, so one store code runs on both.

The province's store (``docflow.store.core`` and the reports) is written against the part of ``sqlite3.Connection``
it uses: ``execute`` (``?`` or ``:name`` parameters), ``executemany``, ``executescript``, ``in_transaction``,
cursors with ``fetchone``/``fetchall``/iteration and ``rowcount``. ``PgConnection`` gives the same over psycopg 3,
in autocommit mode so that docflow's own ``BEGIN``/``COMMIT`` statements delimit transactions as on SQLite.

docflow's SQL is written once, in what both engines accept (``INSERT … ON CONFLICT``, ``RETURNING``, ``CASE``).
The few spellings SQLite has and PostgreSQL lacks are rewritten here, each in one rule (``_REWRITES``), so that no
caller keeps two texts: the placeholders, ``BEGIN IMMEDIATE`` (PostgreSQL's writers do not take turns: rows and
keys keep them apart), ``IS ?``, the planner's hints, ``datetime()`` of a stored time, and ``json_each`` over a
JSON parameter (the list of codes a report filters by).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from docflow.i18n import _
from docflow.store.errors import StoreError
from docflow.store.location import StoreLocation

__all__ = [
    "PgConnection",
    "PgCursor",
    "connect_postgresql",
    "hold_documents",
    "is_write_conflict",
    "server_reason",
    "translate",
]

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|::|\?|:[A-Za-z_]\w*|%")

_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\bBEGIN\s+IMMEDIATE\b"), "BEGIN"),
    # SQLite's ``IS ?`` compares with NULL as with a value; PostgreSQL spells it out.
    (re.compile(r"(?i)\bIS\s+(%s|%\(\w+\)s)"), r"IS NOT DISTINCT FROM \1"),
    # SQLite's planner hints: PostgreSQL plans for itself.
    (re.compile(r"(?i)\s+INDEXED\s+BY\s+\w+"), ""),
    (re.compile(r"(?i)\bCROSS\s+JOIN\b(?=[^()]*?\bON\b)"), "JOIN"),
    # Times docflow stores are ISO 8601 with an offset: compared as instants on both engines.
    (re.compile(r"(?i)\b(?:datetime|julianday)\(([^()]*)\)"), r"CAST(\1 AS timestamptz)"),
    # A JSON object (a mapping of codes): its members as ``key`` and ``value``, as text.
    (
        re.compile(r"(?i)\b(SELECT\s+key,\s*value\s+FROM\s+)json_each\((%s|%\(\w+\)s)\)"),
        r"\1json_each_text(\2::json)",
    ),
    # A JSON array (of codes, of ids): SQLite's json_each gives its elements as ``value``; so does this, as text.
    (re.compile(r"(?i)\bjson_each\((%s|%\(\w+\)s)\)"), r"json_array_elements_text(\1::json) AS value"),
)


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """``sql`` as psycopg takes it: ``?`` → ``%s``, ``:name`` → ``%(name)s``, ``%`` doubled (also inside
    literals, where psycopg still reads it), and SQLite's spellings rewritten (``_REWRITES``)."""

    def token(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "?":
            return "%s"
        if text == "%":
            return "%%"
        if text.startswith(":") and text != "::":
            return f"%({text[1:]})s"
        if text.startswith(("'", "--")):
            return text.replace("%", "%%")
        return text

    translated = _TOKEN.sub(token, sql)
    for pattern, replacement in _REWRITES:
        translated = pattern.sub(replacement, translated)
    return translated


class PgCursor:
    """What docflow reads of an ``sqlite3.Cursor``: rows as tuples, ``rowcount`` and ``description``."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    @property
    def description(self) -> Any:
        return self._cursor.description

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor.description is not None else None

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall()) if self._cursor.description is not None else []

    def fetchmany(self, size: int) -> list[Any]:
        return list(self._cursor.fetchmany(size)) if self._cursor.description is not None else []

    def __iter__(self) -> Iterator[Any]:
        if self._cursor.description is None:
            return iter(())
        return iter(self._cursor)

    def close(self) -> None:
        self._cursor.close()


class PgConnection:
    """A psycopg connection with ``sqlite3.Connection``'s methods as docflow uses them (see the module's text)."""

    def __init__(self, connection: Any, location: StoreLocation) -> None:
        self.raw = connection
        """psycopg's own connection, for what only PostgreSQL does (``COPY``, cancelling a statement)."""
        self.location = location

    def execute(self, sql: str, params: Sequence[object] | Mapping[str, object] = ()) -> PgCursor:
        cursor = self.raw.cursor()
        cursor.execute(translate(sql), params)
        return PgCursor(cursor)

    def executemany(self, sql: str, rows: Iterable[Sequence[object] | Mapping[str, object]]) -> PgCursor:
        cursor = self.raw.cursor()
        batch = list(rows)
        if batch:
            cursor.executemany(translate(sql), batch)
        return PgCursor(cursor)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        """Insert ``rows`` through ``COPY``: several times faster than one INSERT each, pipelined or not."""
        with self.raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def executescript(self, script: str) -> None:
        """Several statements, no parameters: sent as one simple query, as SQLite's ``executescript`` runs them."""
        self.raw.execute(script.encode(), prepare=False)

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status is not TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> PgConnection:
        """``with conn:`` as on SQLite, but atomic: the block is one transaction (an import, whole or not at all)."""
        if not self.in_transaction:
            self.execute("BEGIN")
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK" if error is not None else "COMMIT")


def hold_documents(conn: object, document_ids: Sequence[str]) -> None:
    """On PostgreSQL: wait until no other transaction holds these stored documents, and hold them to this one's end.

    Writers run at once there, and a document is looked up and then written: the hold makes that one step, so that
    its counters move by the right difference. Each stored document's row of ``document_ids`` is locked, in id
    order, so that writers holding several at once queue rather than wait in a circle (the server breaks any
    circle left, and the batch is taken again). A document not stored yet holds nothing: two writers inserting it
    meet on ``document_ids``' key. On SQLite nothing: its writers already take turns."""
    if isinstance(conn, PgConnection) and document_ids:
        conn.execute(
            "SELECT 1 FROM document_ids WHERE document_id = ANY(?) ORDER BY document_id FOR UPDATE",
            (sorted(set(document_ids)),),
        )


_CONFLICTS = frozenset({"40001", "40P01", "23505"})
"""serialization_failure, deadlock_detected, unique_violation: another writer's rows met this one's."""


def is_write_conflict(error: BaseException) -> bool:
    """PostgreSQL rolled a transaction back because another writer took the same rows or keys at the same moment:
    taking it again from the start sees what the other committed."""
    return getattr(error, "sqlstate", None) in _CONFLICTS


def server_reason(error: Exception) -> str:
    """The server's first line, for a message that says what to do about it."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _boolean_as_integer() -> type:
    from psycopg import adapters
    from psycopg.adapt import Dumper

    class BooleanAsInteger(Dumper):
        oid = adapters.types["int4"].oid

        def dump(self, obj: object) -> bytes:
            return b"1" if obj else b"0"

    return BooleanAsInteger


def connect_postgresql(location: StoreLocation, *, readonly: bool, statement_timeout: float | None = None) -> Any:
    """psycopg's connection to ``location``, in autocommit mode; StoreError, with what to do, when none can be had.

    ``readonly``: every transaction on it is read-only (``default_transaction_read_only``)."""
    try:
        import psycopg
        from psycopg.types.numeric import FloatLoader
    except ImportError:
        raise StoreError(
            _("a PostgreSQL store needs psycopg: pip install 'docflow[postgresql]', then run the command again")
        ) from None
    options = []
    if readonly:
        options.append("-c default_transaction_read_only=on")
    if statement_timeout:
        options.append(f"-c statement_timeout={int(statement_timeout * 1000)}")
    try:
        connection = psycopg.connect(location.url or "", autocommit=True, options=" ".join(options) or None)
    except psycopg.Error as error:
        raise StoreError(
            _(
                "cannot connect to the PostgreSQL store {url}: check the URL, that the server is running and that "
                "it lets this user in (the server said: {reason})"
            ).format(url=location.shown, reason=server_reason(error))
        ) from None
    # A rate computed in SQL (1.0 * a / b) is numeric on PostgreSQL: read as float, as SQLite gives it.
    connection.adapters.register_loader("numeric", FloatLoader)
    # Booleans go in as 0 and 1, as SQLite stores them: docflow's flag columns are integers on both engines.
    connection.adapters.register_dumper(bool, _boolean_as_integer())
    return connection
