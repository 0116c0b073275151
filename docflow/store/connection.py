"""Opening the store's SQLite file: checks before, pragmas, migrations, transactions, the replaced-file check.

A writer (``open_writer``) creates and migrates the store and waits for another docflow's write
lock; every reading command opens it through ``open_reader``, the one read-only opener, so that a
summary, an audit and ``docflow sql`` read with the same pragmas and the same refusals.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar, cast

from docflow.i18n import _
from docflow.store.errors import CONFLICT_MESSAGE, StoreBusy, StoreConflict, StoreError, StoreMissing, StoreReplaced
from docflow.store.location import Dialect, StoreLocation
from docflow.store.pg_connection import PgConnection, connect_postgresql, is_write_conflict
from docflow.store.pg_schema import check_postgresql_store, migrate_postgresql, pg_version
from docflow.store.schema import MIGRATIONS

__all__ = [
    "BUSY_TRY_SECONDS",
    "BUSY_TRIES",
    "StoreFile",
    "busy_message",
    "check_docflow_schema",
    "check_store_file",
    "describe_database_error",
    "file_identities",
    "insert_new",
    "is_busy",
    "open_reader",
    "open_writer",
    "retry_while_busy",
    "schema_has",
]

log = logging.getLogger(__name__)

_CACHE_KIB = 64 * 1024
"""Page cache per connection (SQLite's default is 2 MiB): a batch of 100 000 register rows touches
tens of MiB of b-tree pages, and spilling them mid-transaction makes ingestion about twice as slow."""
_MMAP_BYTES = 256 << 20
"""Readers map pages instead of copying them into SQLite's cache: a year's summary over 10,000 units is
~30 % faster. Read-only, so the map is never written through."""

BUSY_TRY_SECONDS = 30.0
"""How long one attempt waits for another docflow's write lock (SQLite's busy timeout)."""
BUSY_TRIES = 4
"""Attempts before a busy store is given up on: two minutes in all, logged at each retry."""

_SQLITE_MAGIC = b"SQLite format 3\x00"
_BUSY_MESSAGES = ("database is locked", "database is busy", "database table is locked")
_DAMAGED_MESSAGES = ("file is not a database", "database disk image is malformed")

_Result = TypeVar("_Result")


def check_store_file(path: Path, *, create: bool) -> None:
    """Refuse, with a plain reason, a path that cannot be a docflow store, before SQLite opens it.

    ``create``: the caller may make a new store there (ingest, watch, imports): a missing or empty
    (0-byte, as SQLite itself leaves one) file is then initialised; a reading command calls it
    "not a docflow store" instead, and never writes to it.
    """
    if str(path).lower().startswith(("postgresql:", "postgres:")):
        raise StoreError(
            # A URL made into a file path (Path folds its '//'): what reaches here is never a store file.
            _(
                "{path} is a PostgreSQL URL read as a file name; give it whole, as postgresql://user@host/database"
            ).format(
                path=str(path).split("@")[-1].split("?")[0]  # never a password, in either place
            )
        )
    if path.is_dir():
        raise StoreError(_("{path} is a folder, not a docflow store; pass the store file with --db").format(path=path))
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        if create:
            return
        raise StoreMissing(
            _("no store at {path} (run 'docflow ingest' first, or pass --db)").format(path=path)
        ) from None
    except OSError as error:
        why = error.strerror or error
        raise StoreError(_("cannot read the store {path}: {why}").format(path=path, why=why)) from error
    if not header and create:
        return
    if not header:
        raise StoreError(
            _("{path} is an empty file, not a docflow store (run 'docflow ingest' to create one)").format(path=path)
        )
    if header != _SQLITE_MAGIC:
        raise StoreError(
            _("{path} is not a docflow store (it is not an SQLite database); check --db").format(path=path)
        )


def check_docflow_schema(
    conn: sqlite3.Connection, path: Path | str, *, create: bool, national_ok: bool = False
) -> None:
    """Refuse an SQLite database that docflow did not make: it is someone else's, and is left as it is.

    A national store (``docflow rollup``'s) is refused too, with its own reason, unless ``national_ok``
    (``docflow sql`` reads either kind)."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "national_meta" in tables:
        if national_ok:
            return
        raise StoreError(
            _("{path} is a national store (made by 'docflow rollup'): this command needs a province's store").format(
                path=path
            )
        )
    if version == 0 and (tables or not create) or version > 0 and "batches" not in tables:
        raise StoreError(_("{path} is an SQLite database but not a docflow store; check --db").format(path=path))


def is_busy(error: BaseException) -> bool:
    """SQLite gave up waiting for another connection's lock."""
    return isinstance(error, sqlite3.OperationalError) and str(error).lower().startswith(_BUSY_MESSAGES)


def busy_message(seconds: float) -> str:
    return f"the store stayed busy for {seconds:.0f} s (another docflow was writing); try again later"


def describe_database_error(error: sqlite3.DatabaseError) -> str | None:
    """A plain reason for an SQLite error that is the store file's fault, not docflow's; None otherwise."""
    text = str(error).lower()
    if is_busy(error):
        return "the store is busy (another docflow is writing); try again later"
    if text.startswith(_DAMAGED_MESSAGES):
        return f"the store file is damaged or not a docflow store (SQLite: {error}); check --db"
    if text.startswith("unable to open database file"):
        return f"the store cannot be opened (SQLite: {error}); check --db and that its folder can be written"
    return None


def retry_while_busy(action: Callable[[], _Result]) -> _Result:
    """``action()``, tried again while another docflow holds the write lock; StoreBusy after ``BUSY_TRIES``.

    ``action`` must change nothing when it fails (a BEGIN, or statements SQLite rolls back).
    """
    started = time.monotonic()
    for attempt in range(1, BUSY_TRIES + 1):
        try:
            return action()
        except sqlite3.OperationalError as error:
            if not is_busy(error):
                raise
            if attempt < BUSY_TRIES:
                log.warning(
                    "the store is busy (another docflow is writing); retrying (%d of %d)", attempt + 1, BUSY_TRIES
                )
    raise StoreBusy(busy_message(time.monotonic() - started))


def _open_postgresql(location: StoreLocation, *, readonly: bool, national_ok: bool = False) -> sqlite3.Connection:
    """The store on PostgreSQL, through ``PgConnection``, which answers as the ``sqlite3.Connection`` the store's
    code is written against (hence the cast: the code uses only what both have)."""
    conn = PgConnection(connect_postgresql(location, readonly=readonly), location)
    try:
        check_postgresql_store(conn, create=not readonly, national_ok=national_ok)
        if not readonly:
            migrate_postgresql(conn)
    except BaseException:
        conn.close()
        raise
    return cast(sqlite3.Connection, conn)


def open_writer(path: Path | StoreLocation) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the store at ``path``; StoreError when it is not a docflow store."""
    if isinstance(path, StoreLocation):
        if path.dialect is Dialect.POSTGRESQL:
            return _open_postgresql(path, readonly=False)
        assert path.path is not None
        path = path.path
    check_store_file(path, create=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TRY_SECONDS, isolation_level=None, check_same_thread=False)
    try:
        check_docflow_schema(conn, path, create=True)
        retry_while_busy(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        for pragma in (
            f"busy_timeout={int(BUSY_TRY_SECONDS * 1000)}",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            f"cache_size=-{_CACHE_KIB}",
        ):
            conn.execute(f"PRAGMA {pragma}")
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def open_reader(path: Path | str | StoreLocation, *, national_ok: bool = False) -> sqlite3.Connection:
    """The one read-only opener: a connection that cannot change the store (``mode=ro`` and ``query_only``; on
    PostgreSQL, transactions read-only by default).

    StoreMissing when there is no file at ``path``, StoreError when it is not a docflow store.
    """
    if isinstance(path, StoreLocation):
        if path.dialect is Dialect.POSTGRESQL:
            return _open_postgresql(path, readonly=True, national_ok=national_ok)
        assert path.path is not None
        path = path.path
    path = Path(path)
    check_store_file(path, create=False)
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro",
        uri=True,
        timeout=BUSY_TRY_SECONDS,
        isolation_level=None,
        check_same_thread=False,
    )
    try:
        for pragma in (f"busy_timeout={int(BUSY_TRY_SECONDS * 1000)}", f"mmap_size={_MMAP_BYTES}", "query_only=ON"):
            conn.execute(f"PRAGMA {pragma}")
        check_docflow_schema(conn, path, create=False, national_ok=national_ok)
    except BaseException:
        conn.close()
        raise
    return conn


def insert_new(conn: sqlite3.Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Insert rows none of which can exist yet (a new document's): one ``executemany`` on SQLite, ``COPY`` on
    PostgreSQL. A key taken meanwhile by another writer fails the transaction there (``StoreConflict``)."""
    if isinstance(conn, PgConnection):
        conn.copy_rows(table, columns, rows)
        return
    marks = ", ".join("?" * len(columns))
    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def schema_has(conn: sqlite3.Connection, kind: str, name: str, column: str | None = None) -> bool:
    """Whether the store holds the table or index ``name`` (``kind``: ``table`` or ``index``), and, given
    ``column``, a table of that column: what a reader asks of a store some older docflow may have last written."""
    if isinstance(conn, PgConnection):
        relkinds = ("r", "p", "v") if kind == "table" else ("i", "I")
        query = (
            "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            f" WHERE n.nspname = current_schema() AND c.relname = ? AND c.relkind IN {relkinds!r}"
        )
        if column is not None:
            query = (
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = ? AND column_name = ?"
            )
            return conn.execute(query, (name, column)).fetchone() is not None
        return conn.execute(query, (name,)).fetchone() is not None
    if column is not None:
        return any(row[1] == column for row in conn.execute(f"PRAGMA table_info({name})"))
    query = "SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?"
    return conn.execute(query, (kind, name)).fetchone() is not None


def schema_version(conn: sqlite3.Connection) -> int:
    if isinstance(conn, PgConnection):
        return pg_version(conn)
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the migrations the store lacks, one transaction each; StoreError for a store newer than docflow."""
    if schema_version(conn) > len(MIGRATIONS):
        raise StoreError(
            _("the store has schema version {found}; this docflow knows only {known}: upgrade docflow").format(
                found=schema_version(conn), known=len(MIGRATIONS)
            )
        )
    while schema_version(conn) < len(MIGRATIONS):
        version = schema_version(conn)
        script = f"BEGIN IMMEDIATE;\n{MIGRATIONS[version]}\nPRAGMA user_version = {version + 1};\nCOMMIT;"
        try:
            # A busy store fails the script at its BEGIN, before anything changed: it can be run again.
            retry_while_busy(lambda script=script: conn.executescript(script))  # type: ignore[misc]
        except sqlite3.OperationalError:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            # Another process may have applied it first; only re-raise if nobody did.
            if schema_version(conn) == version:
                raise


def file_identities(path: Path) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """(device, inode) of the store file and of its write-ahead log (None where absent): one stat each."""
    identities: list[tuple[int, int] | None] = []
    for name in (os.fspath(path), f"{os.fspath(path)}-wal"):
        try:
            status = os.stat(name)
        except FileNotFoundError:
            identities.append(None)
            continue
        identities.append((status.st_dev, status.st_ino))
    return identities[0], identities[1]


class StoreFile:
    """Transactions on one connection, each refused when the path no longer names the file it opened."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None, on_begin: Callable[[], None]) -> None:
        self.conn = conn
        self.path = path
        self._identity = file_identities(path) if path is not None else (None, None)
        self._on_begin = on_begin
        """Called after each BEGIN: what another process may have changed between transactions is re-read."""

    def check_unchanged(self) -> None:
        """StoreReplaced when the path no longer names the file (or write-ahead log) this store opened.

        A store moved away, restored from a backup or deleted under a running watcher would otherwise
        keep taking batches into a file nobody reads any more, and the watcher would file them away.
        """
        if self.path is None:
            return
        database, wal = file_identities(self.path)
        if database == self._identity[0] and (self._identity[1] is None or wal == self._identity[1]):
            return
        raise StoreReplaced(
            f"the store {self.path} was moved, replaced or deleted while docflow was running; "
            "nothing more was stored or filed. Put the store back, or restart docflow to use "
            "the new file"
        )

    def begin(self) -> None:
        """BEGIN IMMEDIATE, waiting for another docflow's write lock, in the file this store opened."""
        self.check_unchanged()
        retry_while_busy(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        self._on_begin()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction: ``begin``, then COMMIT, or ROLLBACK on any exception."""
        self.begin()
        try:
            yield
            self._commit()
        except BaseException as error:
            # SQLite rolls back by itself on SQLITE_FULL and some I/O errors; a second ROLLBACK would raise
            # "no transaction is active" and hide the real cause (a full disk) from the log.
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if is_write_conflict(error):
                raise StoreConflict(_(CONFLICT_MESSAGE)) from error
            raise

    def _commit(self) -> None:
        self.conn.execute("COMMIT")

    def commit_and_begin(self) -> None:
        """Inside ``transaction``: make what was written so far durable and go on in a new transaction."""
        self._commit()
        self.begin()
