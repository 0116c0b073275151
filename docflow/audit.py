"""What auditors use: read-only SQL over the store, and one document's full trail.

``docflow sql`` is read-only by construction, in three layers: the file is opened
with ``mode=ro``, ``PRAGMA query_only`` is set, and an authorizer refuses ATTACH,
DETACH, pragmas that change anything, and ``load_extension``. Extension loading is
never enabled on the connection. A keyword filter would be one clever query away
from a write; these layers are enforced by SQLite itself.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from docflow.safe_text import cell

__all__ = [
    "ReadOnlyError",
    "open_readonly",
    "QueryResult",
    "run_sql",
    "BatchSource",
    "SignatureEntry",
    "StatusEntry",
    "RecipientEntry",
    "AuditTrail",
    "audit_trail",
    "similar_document_ids",
    "render_trail",
]


class ReadOnlyError(Exception):
    """A query that tried to change the store or reach outside it, or failed; the message says which."""


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
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() == "load_extension":
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


_MMAP_BYTES = 256 << 20


def open_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot change the store, attach another file or load code."""
    if not path.is_file():
        raise ReadOnlyError(f"no store at {path} (run 'docflow ingest' first, or pass --db)")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    # Reading pages through a memory map instead of copying them into SQLite's cache: a year's summary
    # over 10,000 units is ~30 % faster. Read-only, so the map is never written through.
    conn.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")
    conn.execute("PRAGMA query_only = ON")
    conn.set_authorizer(_authorize)
    return conn


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]

    def as_dicts(self) -> list[dict[str, object]]:
        return [dict(zip(self.columns, row)) for row in self.rows]


def _explain(error: sqlite3.Error) -> str:
    text = str(error)
    if "not authorized" in text or "readonly" in text or "query_only" in text:
        return (
            f"refused: {text}. docflow sql is read-only: no writes, ATTACH/DETACH, "
            "PRAGMA changes or extension loading"
        )
    return f"query failed: {text}"


def run_sql(conn: sqlite3.Connection, query: str, params: tuple[object, ...] = ()) -> QueryResult:
    """Run one statement on a read-only connection; ReadOnlyError on refusal or failure."""
    try:
        cursor = conn.execute(query, params)
        rows = tuple(tuple(row) for row in cursor.fetchall())
    except (sqlite3.Error, sqlite3.Warning) as error:
        raise ReadOnlyError(_explain(error)) from error
    columns = tuple(column[0] for column in cursor.description or ())
    return QueryResult(columns, rows)


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
class AuditTrail:
    """Everything the store holds about one document."""

    document_id: str
    document: tuple[tuple[str, object], ...]
    """Every column of the ``documents`` row."""
    sources: tuple[BatchSource, ...]
    signatures: tuple[SignatureEntry, ...]
    recipients: tuple[RecipientEntry, ...]
    status_events: tuple[StatusEntry, ...]

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


def audit_trail(conn: sqlite3.Connection, document_id: str) -> AuditTrail | None:
    """The document, its batches, every signature verdict and its status events; None if unknown."""
    documents = _rows(conn, "SELECT * FROM documents WHERE document_id = ?", (document_id,))
    if not documents:
        return None
    sources = _rows(
        conn,
        "SELECT b.id, b.file_name, b.sha256, b.received_at, b.processed_at, d.item_name, d.source"
        " FROM document_sources d JOIN batches b ON b.id = d.batch_id"
        " WHERE d.document_id = ? ORDER BY b.received_at, b.id",
        (document_id,),
    )
    recipients = _rows(
        conn, "SELECT unit, received_electronic, handled_at FROM recipients WHERE document_id = ? ORDER BY unit",
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
    )


def similar_document_ids(conn: sqlite3.Connection, text: str, limit: int = 5) -> tuple[str, ...]:
    """Ids containing ``text``, to suggest when an exact id is not found."""
    rows = conn.execute(
        "SELECT document_id FROM documents WHERE document_id LIKE ? ORDER BY document_id LIMIT ?",
        (f"%{text}%", limit),
    )
    return tuple(row[0] for row in rows)


def _pairs_table(title: str, pairs: tuple[tuple[str, object], ...]) -> Table:
    table = Table(title=cell(title), title_justify="left", show_header=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in pairs:
        table.add_row(cell(name), cell("" if value is None else value))
    return table


def _add_rows(table: Table, rows: list[tuple[object, ...]]) -> Table:
    """Stored values as literal cells: a subject or reason may hold rich markup or escape sequences."""
    for row in rows:
        table.add_row(*(cell("" if value is None else value) for value in row))
    return table


def render_trail(trail: AuditTrail, console: Console) -> None:
    """The trail in reading order: document, batches, signatures with their checks, recipients, events."""
    console.print(_pairs_table(f"Văn bản {trail.document_id}", trail.document))
    batches = Table(title="Lô dữ liệu chứa văn bản", title_justify="left")
    for header in ("Tệp", "SHA-256", "Nhận lúc", "Mục", "Nguồn"):
        batches.add_column(header, overflow="fold")
    _add_rows(batches, [(s.file_name, s.sha256, s.received_at, s.item_name, s.source) for s in trail.sources])
    console.print(batches)
    for number, signature in enumerate(trail.signatures, start=1):
        console.print(_pairs_table(f"Chữ ký {number}", signature.fields))
        console.print(_add_rows(Table("Kiểm tra", "Kết quả", "Chi tiết", title_justify="left"), list(signature.checks)))
    if not trail.signatures:
        console.print("Không có chữ ký số nào được ghi nhận cho văn bản này.")
    recipients = Table("Nơi nhận", "Nhận điện tử", "Hoàn thành (06)", title="Nơi nhận", title_justify="left")
    _add_rows(recipients, [(r.unit, "có" if r.received_electronic else "không", r.handled_at) for r in trail.recipients])
    console.print(recipients)
    events = Table("Đơn vị", "Mã", "Mô tả", "Thời gian", "Tệp", title="Trạng thái xử lý", title_justify="left")
    _add_rows(events, [(e.reporting_unit, e.code, e.description, e.timestamp, e.batch_file) for e in trail.status_events])
    console.print(events)
