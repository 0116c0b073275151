"""One connection to a store on either engine, for the code that runs on both (the national roll-up).

docflow's own SQL is written once, with ``?`` placeholders and the SQL both engines accept (``INSERT … ON
CONFLICT``, plain types); ``Database.execute`` turns the placeholders into psycopg's on PostgreSQL. A write is
one ``transaction()``: ``BEGIN IMMEDIATE`` on SQLite (one writer at a time, waiting for another docflow's
lock), a plain transaction on PostgreSQL, where rows and keys are what keep concurrent writers apart.
Failures to reach or read the database become ``StoreError`` with what to do, never the driver's text alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from docflow.store.connection import BUSY_TRY_SECONDS, check_store_file, retry_while_busy
from docflow.store.location import Dialect, StoreLocation
from docflow.store.pg_connection import connect_postgresql

__all__ = ["Cursor", "Database", "KeyTaken", "open_database"]


class KeyTaken(Exception):
    """A row could not be inserted: its key is held by a row already there."""


class Cursor(Protocol):
    rowcount: int
    description: Any

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database:
    """An open connection; ``dialect`` says which engine. Use ``open_database``."""

    def __init__(self, connection: Any, location: StoreLocation) -> None:
        self._connection = connection
        self.location = location
        self.dialect = location.dialect

    @property
    def connection(self) -> Any:
        """The driver's own connection (``sqlite3`` or ``psycopg``), for what only that engine does."""
        return self._connection

    def _sql(self, sql: str) -> str:
        if self.dialect is Dialect.POSTGRESQL:
            return sql.replace("%", "%%").replace("?", "%s")
        return sql

    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor:
        return self._connection.execute(self._sql(sql), tuple(params))  # type: ignore[no-any-return]

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        if self.dialect is Dialect.POSTGRESQL:
            with self._connection.cursor() as cursor:
                cursor.executemany(self._sql(sql), [tuple(row) for row in rows])
        else:
            self._connection.executemany(sql, rows)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        """Insert ``rows``; KeyTaken when one's key is already held (the transaction must then be abandoned).

        PostgreSQL takes them through ``COPY``: a round trip, or an ``ON CONFLICT`` check, per row would cost
        several times what the server does with it. A key another transaction is inserting waits for it."""
        names = ", ".join(columns)
        if self.dialect is Dialect.SQLITE:
            marks = ", ".join("?" * len(columns))
            try:
                self._connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
            except sqlite3.IntegrityError as error:
                if "UNIQUE" not in str(error):
                    raise
                raise KeyTaken(table) from None
            return
        import psycopg.errors

        try:
            with self._connection.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.errors.UniqueViolation:
            raise KeyTaken(table) from None

    def has_table(self, name: str) -> bool:
        if self.dialect is Dialect.POSTGRESQL:
            # A query of the catalog sees what another transaction has just committed; to_regclass() may answer
            # from this session's cache of names it looked up before, and miss a table made since.
            query = (
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
                " ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relname = ?)"
            )
            return self.execute(query, (name,)).fetchone()[0] is True
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self.execute(query, (name,)).fetchone() is not None

    def serialise(self, key: str) -> None:
        """Inside a transaction: wait until no other transaction holds ``key`` (PostgreSQL's advisory lock, released
        at commit). SQLite needs none: its writers already take turns."""
        if self.dialect is Dialect.POSTGRESQL:
            self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (key,))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction: committed when the block ends, rolled back on any exception."""
        if self.dialect is Dialect.POSTGRESQL:
            with self._connection.transaction():
                yield
            return
        retry_while_busy(lambda: self._connection.execute("BEGIN IMMEDIATE"))
        try:
            yield
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_database(
    location: StoreLocation, *, readonly: bool = False, statement_timeout: float | None = None
) -> Database:
    """A connection to the store at ``location``; StoreError, with what to do, when it cannot be had.

    ``readonly``: the connection cannot write (SQLite ``mode=ro`` and ``query_only``; PostgreSQL
    ``default_transaction_read_only``). ``statement_timeout`` (seconds) bounds each statement on PostgreSQL.
    """
    if location.dialect is Dialect.POSTGRESQL:
        return Database(connect_postgresql(location, readonly=readonly, statement_timeout=statement_timeout), location)
    assert location.path is not None
    check_store_file(location.path, create=not readonly)
    if readonly:
        target, uri = f"{location.path.resolve().as_uri()}?mode=ro", True
    else:
        location.path.parent.mkdir(parents=True, exist_ok=True)
        target, uri = str(location.path), False
    connection = sqlite3.connect(target, uri=uri, timeout=BUSY_TRY_SECONDS, isolation_level=None)
    connection.execute("PRAGMA query_only=ON" if readonly else "PRAGMA journal_mode=WAL")
    return Database(connection, location)
