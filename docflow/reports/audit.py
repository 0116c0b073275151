"""What auditors use: read-only SQL over the store, and one document's full trail.

``docflow sql`` is read-only by construction, in three layers: the file is opened with ``mode=ro``,
``PRAGMA query_only`` is set, and an authorizer refuses ATTACH, DETACH, pragmas that change anything,
``load_extension`` and the functions that hand out pointers or touch files. Extension loading is never
enabled on the connection. A keyword filter would be one clever query away from a write; these layers are
enforced by SQLite itself. A query is bounded too (``QueryLimits``): in time, by a progress handler that
also answers Ctrl-C; in the size of one value, by SQLite's length limit, so ``randomblob(300000000)`` is
refused before it is allocated; and in rows, as read. (On PostgreSQL: ``docflow.reports.server_sql``.)
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docflow.i18n import _
from docflow.store.connection import open_reader, schema_has
from docflow.store.errors import StoreMissing
from docflow.store.location import StoreLocation

__all__ = [
    "ReadOnlyError",
    "QueryStopped",
    "open_readonly",
    "QueryLimits",
    "QueryResult",
    "QueryRows",
    "query_rows",
    "run_sql",
    "BatchSource",
    "SignatureEntry",
    "StatusEntry",
    "RecipientEntry",
    "VerdictChangeEntry",
    "AuditTrail",
    "audit_trail",
    "similar_document_ids",
]


class ReadOnlyError(Exception):
    """A query that tried to change the store or reach outside it, or failed; the message says which."""


class QueryStopped(ReadOnlyError):
    """A query stopped at its time limit, or because the user asked (``by_user``: Ctrl-C)."""

    def __init__(self, message: str, *, by_user: bool) -> None:
        super().__init__(message)
        self.by_user = by_user


# Pragmas that only report. Those taking an argument (table_info(x)) name a table, not a value.
_PRAGMAS_WITH_NAME_ARGUMENT = frozenset(
    {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list"}
)
_PRAGMAS_READ_ONLY = frozenset(
    {
        "database_list", "table_list", "user_version", "schema_version", "application_id",
        "page_count", "page_size", "freelist_count", "encoding", "compile_options",
        "collation_list", "function_list", "pragma_list", "module_list", "integrity_check",
        "quick_check", "foreign_key_check", "journal_mode", "query_only", "data_version",
    }
)  # fmt: skip

_DENIED_ACTIONS = {
    sqlite3.SQLITE_ATTACH: "ATTACH",
    sqlite3.SQLITE_DETACH: "DETACH",
}


# fts3_tokenizer('simple') returns the tokenizer's address (an ASLR leak, and with two arguments a way to
# make SQLite call any address); fts5(?) hands out an API pointer; the rest load code or read and write
# files. The shell's file functions are not in the library, but would be refused if a build registered them.
_DENIED_FUNCTIONS = frozenset(
    {"load_extension", "fts3_tokenizer", "fts5", "readfile", "writefile", "edit", "fsdir", "lsmode",
     "zipfile", "sqlar_compress", "sqlar_uncompress", "shell_escape_crnl", "shell_module_schema"}
)  # fmt: skip


def _pragma_allowed(name: str, argument: str | None) -> bool:
    lowered = name.lower()
    if lowered in _PRAGMAS_WITH_NAME_ARGUMENT:
        return True
    return lowered in _PRAGMAS_READ_ONLY and argument is None


def _authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
    if action in _DENIED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and not _pragma_allowed(arg1 or "", arg2):
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def open_readonly(path: Path | StoreLocation, *, national_ok: bool = False) -> sqlite3.Connection:
    """The store's one read-only connection (``open_reader``), which also cannot attach another file or load code.

    ReadOnlyError when there is no store at ``path``; StoreError when the file is not a docflow store.
    """
    try:
        conn = open_reader(path, national_ok=national_ok)
    except StoreMissing as error:
        raise ReadOnlyError(str(error)) from error
    if isinstance(conn, sqlite3.Connection):  # on PostgreSQL every transaction is read-only (open_reader)
        conn.set_authorizer(_authorize)
    return conn


MAX_VALUE_BYTES = 16 << 20
"""The largest string or blob a query may make or return: a whole register field is far below it."""
DEFAULT_TIMEOUT = 30.0
_PROGRESS_STEPS = 10_000
"""SQLite virtual-machine steps between two looks at the clock and the stop flag (well under a millisecond)."""


@dataclass(frozen=True)
class QueryLimits:
    timeout: float | None = DEFAULT_TIMEOUT
    """Seconds the query may run, fetching included; None: no limit."""
    max_rows: int | None = None
    """Rows returned at most; the result says when more were there. None: every row."""
    max_value_bytes: int = MAX_VALUE_BYTES


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    truncated: bool = False
    """More rows were there than ``QueryLimits.max_rows``."""


class _Watchdog:
    """SQLite's progress handler: a non-zero answer interrupts the running statement."""

    def __init__(self, limits: QueryLimits, stop: threading.Event | None) -> None:
        self._limits = limits
        self._deadline = None if limits.timeout is None else time.monotonic() + limits.timeout
        self._stop = stop
        self.stopped_by: str | None = None

    def __call__(self) -> int:
        if self._stop is not None and self._stop.is_set():
            self.stopped_by = "user"
        elif self._deadline is not None and time.monotonic() > self._deadline:
            self.stopped_by = "timeout"
        return 1 if self.stopped_by else 0

    def error(self, error: sqlite3.Error | sqlite3.Warning) -> ReadOnlyError:
        if self.stopped_by == "user":
            return QueryStopped(_("stopped: the query was interrupted (Ctrl-C)"), by_user=True)
        if self.stopped_by == "timeout":
            return QueryStopped(
                _(
                    "stopped after {seconds:g} s, the time limit of one query: narrow it "
                    "(WHERE, LIMIT) or allow more time with --timeout SECONDS"
                ).format(seconds=self._limits.timeout),
                by_user=False,
            )
        if "too big" in str(error):
            return ReadOnlyError(
                _(
                    "refused: a value in this query would be over the {limit:g} MiB limit on one value; "
                    "select a part of it (substr, length) instead"
                ).format(limit=self._limits.max_value_bytes / (1 << 20))
            )
        return ReadOnlyError(_explain(error))


def _explain(error: sqlite3.Error | sqlite3.Warning) -> str:
    text = str(error)
    if "not authorized" in text or "readonly" in text or "query_only" in text:
        return _(
            "refused: {error}. docflow sql is read-only: no writes, ATTACH/DETACH, PRAGMA changes, "
            "extension loading, nor functions that hand out pointers or touch files"
        ).format(error=text)
    return _("query failed: {error}").format(error=text)


class QueryRows:
    """The rows of a running query, read one at a time (a CSV of any size never sits in memory)."""

    def __init__(self, cursor: sqlite3.Cursor, limits: QueryLimits, watchdog: _Watchdog) -> None:
        self.columns: tuple[str, ...] = tuple(column[0] for column in cursor.description or ())
        self.truncated = False
        self._cursor = cursor
        self._limits = limits
        self._watchdog = watchdog

    def __iter__(self) -> Iterator[tuple[object, ...]]:
        count = 0
        while True:
            try:
                row = self._cursor.fetchone()
            except (sqlite3.Error, sqlite3.Warning) as error:
                raise self._watchdog.error(error) from error
            if row is None:
                return
            if self._limits.max_rows is not None and count >= self._limits.max_rows:
                self.truncated = True
                return
            count += 1
            yield tuple(row)


@contextmanager
def query_rows(
    conn: sqlite3.Connection,
    query: str,
    params: tuple[object, ...] = (),
    limits: QueryLimits = QueryLimits(),
    stop: threading.Event | None = None,
) -> Iterator[QueryRows]:
    """Run one statement within ``limits``; ``stop`` set (from a signal handler or a thread) interrupts it.

    Read the rows inside the ``with``: the limits hold until it ends. ReadOnlyError on refusal or failure.
    """
    watchdog = _Watchdog(limits, stop)
    previous_length = conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limits.max_value_bytes)
    conn.set_progress_handler(watchdog, _PROGRESS_STEPS)
    try:
        try:
            cursor = conn.execute(query, params)
        except (sqlite3.Error, sqlite3.Warning) as error:
            raise watchdog.error(error) from error
        yield QueryRows(cursor, limits, watchdog)
    finally:
        conn.set_progress_handler(None, 0)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, previous_length)


def run_sql(
    conn: sqlite3.Connection,
    query: str,
    params: tuple[object, ...] = (),
    limits: QueryLimits = QueryLimits(),
    stop: threading.Event | None = None,
) -> QueryResult:
    """Run one statement on a read-only connection and keep its rows; ReadOnlyError on refusal or failure."""
    with query_rows(conn, query, params, limits, stop) as rows:
        kept = tuple(rows)
    return QueryResult(rows.columns, kept, rows.truncated)


@dataclass(frozen=True)
class BatchSource:
    """One batch a document was read from."""

    batch_id: int
    file_name: str
    sha256: str
    received_at: str
    processed_at: str
    item_name: str
    source: str


@dataclass(frozen=True)
class SignatureEntry:
    """One stored signature verdict, every column kept."""

    fields: tuple[tuple[str, object], ...]
    checks: tuple[tuple[str, str, str], ...]
    """(check, outcome, detail) in the order made."""

    def value(self, name: str) -> object:
        return dict(self.fields).get(name)


@dataclass(frozen=True)
class StatusEntry:
    reporting_unit: str
    code: str
    description: str | None
    timestamp: str | None
    batch_file: str | None


@dataclass(frozen=True)
class RecipientEntry:
    unit: str
    received_electronic: bool
    handled_at: str | None


@dataclass(frozen=True)
class VerdictChangeEntry:
    """A signature's verdict changed by ``docflow reverify``: when, from what to what, under which trust states."""

    changed_at: str
    payload_sha256: str
    index: int
    before_indication: str | None
    before_subindication: str | None
    after_indication: str | None
    after_subindication: str | None
    reason: str | None
    """The new verdict's reason."""
    trust_before: str | None
    """Fingerprint of the trust store the old verdict was made under (None: not recorded then)."""
    trust_after: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "changed_at": self.changed_at,
            "payload_sha256": self.payload_sha256,
            "index": self.index,
            "before": {"indication": self.before_indication, "subindication": self.before_subindication},
            "after": {"indication": self.after_indication, "subindication": self.after_subindication},
            "reason": self.reason,
            "trust_before": self.trust_before,
            "trust_after": self.trust_after,
        }


@dataclass(frozen=True)
class AuditTrail:
    """Everything the store holds about one document."""

    document_id: str
    document: tuple[tuple[str, object], ...]
    """Every column of the ``documents`` row."""
    sources: tuple[BatchSource, ...]
    signatures: tuple[SignatureEntry, ...]
    recipients: tuple[RecipientEntry, ...]
    status_events: tuple[StatusEntry, ...]
    verdict_changes: tuple[VerdictChangeEntry, ...] = ()
    """Oldest first."""

    def to_json(self) -> dict[str, object]:
        return {
            "document_id": self.document_id,
            "document": dict(self.document),
            "batches": [vars(source) for source in self.sources],
            "signatures": [
                {
                    **dict(signature.fields),
                    "checks": [
                        {"name": name, "outcome": outcome, "detail": detail}
                        for name, outcome, detail in signature.checks
                    ],
                }
                for signature in self.signatures
            ],
            "recipients": [vars(recipient) for recipient in self.recipients],
            "status_events": [vars(event) for event in self.status_events],
            "verdict_changes": [change.to_json() for change in self.verdict_changes],
        }


def _rows(conn: sqlite3.Connection, query: str, params: tuple[object, ...]) -> list[dict[str, Any]]:
    cursor = conn.execute(query, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _checks(raw: object) -> tuple[tuple[str, str, str], ...]:
    try:
        loaded = json.loads(str(raw or "[]"))
    except json.JSONDecodeError:
        return (("checks_json", "unreadable", str(raw)),)
    return tuple(
        (str(item.get("name", "")), str(item.get("outcome", "")), str(item.get("detail", "")))
        for item in loaded
        if isinstance(item, dict)
    )


def _signatures(conn: sqlite3.Connection, document_id: str) -> tuple[SignatureEntry, ...]:
    rows = _rows(
        conn,
        "SELECT s.*, b.file_name AS batch_file FROM signatures s"
        " LEFT JOIN batches b ON b.id = s.batch_id WHERE s.document_id = ? ORDER BY s.payload_sha256, s.idx",
        (document_id,),
    )
    return tuple(
        SignatureEntry(
            tuple((key, value) for key, value in row.items() if key != "checks_json"),
            _checks(row["checks_json"]),
        )
        for row in rows
    )


def _verdict_changes(conn: sqlite3.Connection, document_id: str) -> tuple[VerdictChangeEntry, ...]:
    if not schema_has(conn, "table", "verdict_changes"):
        return ()  # a store from before migration 10, read without migrating it
    rows = conn.execute(
        "SELECT changed_at, payload_sha256, idx, before_indication, before_subindication, after_indication,"
        " after_subindication, after_reason, trust_before, trust_after FROM verdict_changes"
        " WHERE document_id = ? ORDER BY changed_at, id",
        (document_id,),
    )
    return tuple(VerdictChangeEntry(*row) for row in rows)


def audit_trail(conn: sqlite3.Connection, document_id: str) -> AuditTrail | None:
    """The document, its batches, every signature verdict and its status events; None if unknown."""
    documents = _rows(conn, "SELECT * FROM documents WHERE document_id = ?", (document_id,))
    if not documents:
        return None
    sources = _rows(
        conn,
        "SELECT b.id, b.file_name, b.sha256, b.received_at, b.processed_at, d.item_name, d.source"
        " FROM document_sources d JOIN batches b ON b.id = d.batch_id"
        " WHERE d.document_id = ? ORDER BY b.received_at, b.id, d.item_name",
        (document_id,),
    )
    recipients = _rows(
        conn,
        "SELECT unit, received_electronic, handled_at FROM recipients WHERE document_id = ? ORDER BY unit",
        (document_id,),
    )
    events = _rows(
        conn,
        "SELECT e.reporting_unit, e.code, e.description, e.timestamp, b.file_name FROM status_events e"
        " LEFT JOIN batches b ON b.id = e.batch_id WHERE e.document_id = ? ORDER BY e.timestamp, e.id",
        (document_id,),
    )
    return AuditTrail(
        document_id=document_id,
        document=tuple(documents[0].items()),
        sources=tuple(BatchSource(*row.values()) for row in sources),
        signatures=_signatures(conn, document_id),
        recipients=tuple(
            RecipientEntry(r["unit"], bool(r["received_electronic"]), r["handled_at"]) for r in recipients
        ),
        status_events=tuple(StatusEntry(*row.values()) for row in events),
        verdict_changes=_verdict_changes(conn, document_id),
    )


def similar_document_ids(conn: sqlite3.Connection, text: str, limit: int = 5) -> tuple[str, ...]:
    """Ids containing ``text``, to suggest when an exact id is not found."""
    rows = conn.execute(
        "SELECT document_id FROM documents WHERE document_id LIKE ? ORDER BY document_id LIMIT ?",
        (f"%{text}%", limit),
    )
    return tuple(row[0] for row in rows)
