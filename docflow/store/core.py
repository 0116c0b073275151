"""The SQLite store: batches, documents, signatures, and the counters kept beside them.

Every change to a document goes through ``changing``, which computes the document's
counter contribution before and after the change and applies the difference in the
same transaction; the one exception, ``merge_new_documents`` (new documents in bulk: a
register's rows, edXML documents with their signatures), adds each new document's
contribution directly, as "before" is nothing. The counters therefore always equal what
``recompute_counters`` would build from the documents, however often a document is
merged, revoked or seen again. WAL mode lets summaries and audits read while the watcher
writes. What a merged document looks like is decided in ``docflow.store.merging``, and what a
verdict's rows hold in ``docflow.store.signature_rows``; this module reads and writes the rows.
"""

from __future__ import annotations

import logging
import operator
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import sqlite_utils

from docflow.agency import CODE_PATTERN
from docflow.readers.mojibake import garbled
from docflow.records import BusinessType, DocumentRecord, RejectedItem, StatusEvent
from docflow.store.classify import (
    CounterDelta,
    RecipientState,
    SignatureFact,
    SignatureFacts,
    classify_level,
    contribution,
    signature_facts,
)
from docflow.store.errors import StoreBusy, StoreError, StoreReplaced
from docflow.store.merging import (
    MERGED_COLUMNS,
    STATE_COLUMNS,
    RecipientRow,
    doc_state,
    merged_values,
    new_recipients,
    placeholder_values,
    recipient_pairs,
    state_values,
    total_contribution,
)
from docflow.store.ownership import SignerIdentity, belongs_to_sender, unit_names
from docflow.store.schema import COUNTER_COLUMNS, MIGRATIONS
from docflow.store.signature_rows import (
    CERTIFICATE_UPSERT,
    FACT_COLUMNS,
    SIGNATURE_INSERT,
    NewSignatures,
    certificate_row,
    fact_values,
    int_or_none,
    signature_fact,
    signature_row,
    signer_identity,
)
from signatures.verdict import Verdict

__all__ = ["Store", "BatchRow", "CounterRow", "StoreError", "StoreBusy", "StoreReplaced", "check_store_file",
           "check_docflow_schema", "retry_while_busy", "is_busy", "describe_database_error",
           "busy_message"]

log = logging.getLogger(__name__)

_CACHE_KIB = 64 * 1024
"""Page cache per connection (SQLite's default is 2 MiB): a batch of 100 000 register rows touches
tens of MiB of b-tree pages, and spilling them mid-transaction makes ingestion about twice as slow."""


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
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a docflow store; pass the store file with --db")
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        if create:
            return
        raise StoreError(f"no store at {path} (run 'docflow ingest' first, or pass --db)") from None
    except OSError as error:
        raise StoreError(f"cannot read the store {path}: {error.strerror or error}") from error
    if not header and create:
        return
    if not header:
        raise StoreError(f"{path} is an empty file, not a docflow store (run 'docflow ingest' to create one)")
    if header != _SQLITE_MAGIC:
        raise StoreError(f"{path} is not a docflow store (it is not an SQLite database); check --db")


def check_docflow_schema(conn: sqlite3.Connection, path: Path | str, *, create: bool) -> None:
    """Refuse an SQLite database that docflow did not make: it is someone else's, and is left as it is."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if version == 0 and (tables or not create) or version > 0 and "batches" not in tables:
        raise StoreError(f"{path} is an SQLite database but not a docflow store; check --db")


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
                log.warning("the store is busy (another docflow is writing); retrying (%d of %d)",
                            attempt + 1, BUSY_TRIES)
    raise StoreBusy(busy_message(time.monotonic() - started))


@dataclass(frozen=True)
class BatchRow:
    """One row of ``batches``."""

    file_name: str
    sha256: str
    size_bytes: int
    kind: str
    received_at: str
    processed_at: str
    outcome: str
    reason: str | None = None
    documents: int = 0
    signatures: int = 0
    rejected_items: int = 0
    archived_as: str | None = None
    id: int | None = None
    items_done: int | None = None
    """While ``outcome`` is ``in progress``: the items committed so far (a batch committed in chunks)."""
    owner: str | None = None
    """While ``outcome`` is ``in progress``: ``host:pid`` of the process reading it."""


@dataclass(frozen=True)
class CounterRow:
    """One non-zero (unit, period) counters row, counters in ``COUNTER_COLUMNS`` order."""

    unit: str
    period: str
    values: tuple[int, ...]


class Store:
    """An open store. Use ``Store.open`` (read-write, migrates) or ``Store.open_readonly``."""

    def __init__(self, db: sqlite_utils.Database, path: Path | None = None) -> None:
        self.db = db
        self.path = path
        """The file opened for writing; its identity is checked before each write (``check_unchanged``)."""
        self._identity = _file_identities(path) if path is not None else (None, None)
        self.conn: sqlite3.Connection = db.conn
        self._unit_names: dict[str, set[str]] | None = None
        """Cache for ownership by name; dropped whenever units may have changed."""
        self._ownership: dict[tuple[SignerIdentity, str], bool | None] = {}
        """(signer, sender) → ``_belongs``; dropped with ``_unit_names``. An organisation certificate signs
        most of its unit's documents, so a batch asks the same question hundreds of times."""
        self._changes_open: set[str] = set()
        """Documents inside a ``changing`` block: an inner block for the same document adds nothing."""

    # -- opening ---------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str) -> Store:
        """Open (creating if needed) and migrate the store at ``path``; StoreError when it is not a docflow store."""
        path = Path(path)
        check_store_file(path, create=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TRY_SECONDS, isolation_level=None, check_same_thread=False)
        try:
            check_docflow_schema(conn, path, create=True)
            retry_while_busy(lambda: conn.execute("PRAGMA journal_mode=WAL"))
            for pragma in (f"busy_timeout={int(BUSY_TRY_SECONDS * 1000)}", "synchronous=NORMAL", "foreign_keys=ON",
                           f"cache_size=-{_CACHE_KIB}"):
                conn.execute(f"PRAGMA {pragma}")
            store = cls(sqlite_utils.Database(conn), path)
            store._migrate()
            store._identity = _file_identities(path)  # the write-ahead log exists from the first read on
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def open_readonly(cls, path: Path | str) -> Store:
        """A store that cannot be changed through this connection (for reports and audits)."""
        check_store_file(Path(path), create=False)
        uri = f"{Path(path).resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=30000")
        try:
            check_docflow_schema(conn, path, create=False)
        except BaseException:
            conn.close()
            raise
        return cls(sqlite_utils.Database(conn))

    def close(self) -> None:
        self.conn.close()

    def check_unchanged(self) -> None:
        """StoreReplaced when the path no longer names the file (or write-ahead log) this store opened.

        A store moved away, restored from a backup or deleted under a running watcher would otherwise
        keep taking batches into a file nobody reads any more, and the watcher would file them away.
        """
        if self.path is None:
            return
        database, wal = _file_identities(self.path)
        if database == self._identity[0] and (self._identity[1] is None or wal == self._identity[1]):
            return
        raise StoreReplaced(f"the store {self.path} was moved, replaced or deleted while docflow was running; "
                            "nothing more was stored or filed. Put the store back, or restart docflow to use "
                            "the new file")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        if self.schema_version > len(MIGRATIONS):
            raise StoreError(f"the store has schema version {self.schema_version}; this docflow knows only "
                             f"{len(MIGRATIONS)}: upgrade docflow")
        while self.schema_version < len(MIGRATIONS):
            version = self.schema_version
            script = f"BEGIN IMMEDIATE;\n{MIGRATIONS[version]}\nPRAGMA user_version = {version + 1};\nCOMMIT;"
            try:
                # A busy store fails the script at its BEGIN, before anything changed: it can be run again.
                retry_while_busy(lambda: self.conn.executescript(script))
            except sqlite3.OperationalError:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                # Another process may have applied it first; only re-raise if nobody did.
                if self.schema_version == version:
                    raise

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction: BEGIN IMMEDIATE, then COMMIT, or ROLLBACK on any exception.

        Waits for another docflow's write lock (``retry_while_busy``: StoreBusy in the end), and refuses
        to write into a file that is no longer the store's (``check_unchanged``).
        """
        self.check_unchanged()
        retry_while_busy(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        self._forget_units()  # another process (a units or certificates import) may have changed them
        try:
            yield
        except BaseException:
            # SQLite rolls back by itself on SQLITE_FULL and some I/O errors; a second ROLLBACK would raise
            # "no transaction is active" and hide the real cause (a full disk) from the log.
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- batches and rejected items --------------------------------------------------

    def batch_by_sha256(self, sha256: str) -> BatchRow | None:
        row = next(self.db.query("SELECT * FROM batches WHERE sha256 = ?", (sha256,)), None)
        return BatchRow(**row) if row else None

    def record_batch(self, batch: BatchRow) -> int:
        """Insert a batch row; returns its id."""
        values = {name: value for name, value in batch.__dict__.items() if name != "id"}
        columns = ", ".join(values)
        placeholders = ", ".join("?" for _ in values)
        cursor = self.conn.execute(f"INSERT INTO batches ({columns}) VALUES ({placeholders})", tuple(values.values()))
        return int(cursor.lastrowid or 0)

    def finish_batch(self, batch_id: int, documents: int, signatures: int, rejected_items: int) -> None:
        self.conn.execute(
            "UPDATE batches SET documents = ?, signatures = ?, rejected_items = ?, outcome = 'ingested',"
            " items_done = NULL, owner = NULL WHERE id = ?",
            (documents, signatures, rejected_items, batch_id),
        )

    def batch_in_progress(self, batch_id: int, items_done: int, owner: str, processed_at: str,
                          counts: tuple[int, int, int]) -> None:
        """Mark a batch committed in part: ``items_done`` items, and the documents, signatures and rejected
        items they held so far."""
        self.conn.execute(
            "UPDATE batches SET outcome = 'in progress', items_done = ?, owner = ?, processed_at = ?,"
            " documents = ?, signatures = ?, rejected_items = ? WHERE id = ?",
            (items_done, owner, processed_at, *counts, batch_id),
        )

    def commit_and_begin(self) -> None:
        """Inside ``transaction``: make what was written so far durable and go on in a new transaction."""
        self.conn.execute("COMMIT")
        self.check_unchanged()
        retry_while_busy(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        self._forget_units()

    def add_rejected_item(self, batch_id: int, item: RejectedItem) -> None:
        self.conn.execute(
            "INSERT INTO rejected_items (batch_id, item_name, reason) VALUES (?, ?, ?)",
            (batch_id, item.item_name, item.reason),
        )

    # -- units -----------------------------------------------------------------------

    def upsert_unit(self, code: str, name: str | None, source: str) -> None:
        """Add a unit seen in a batch; an existing unit only gains a name it lacked."""
        code = code.strip()
        if not code:
            return
        existing = self.conn.execute("SELECT name, source FROM units WHERE code = ?", (code,)).fetchone()
        if existing is not None:
            if name and not existing[0]:
                self.conn.execute("UPDATE units SET name = ? WHERE code = ?", (name, code))
                self._forget_units()
            elif name and garbled(existing[0]) and not garbled(name):
                self._repair_unit_name(code, name, derived_level=existing[1] != "import")
            return
        if name:
            self._forget_units()
        parent = _parent_code(code)
        parent_row = self.conn.execute("SELECT level FROM units WHERE code = ?", (parent,)).fetchone()
        level = classify_level(code, name, parent_row[0] if parent_row else None)
        self.conn.execute(
            "INSERT INTO units (code, name, level, parent, code_valid, source) VALUES (?, ?, ?, ?, ?, ?)",
            (code, name, level, parent, int(bool(CODE_PATTERN.match(code))), source),
        )

    def _repair_unit_name(self, code: str, name: str, *, derived_level: bool) -> None:
        """A clean name replaces one read in the wrong encoding; a level derived from the garbled name follows."""
        if derived_level:
            parent = _parent_code(code)
            parent_row = self.conn.execute("SELECT level FROM units WHERE code = ?", (parent,)).fetchone()
            level = classify_level(code, name, parent_row[0] if parent_row else None)
            self.conn.execute("UPDATE units SET name = ?, level = ? WHERE code = ?", (name, level, code))
        else:
            self.conn.execute("UPDATE units SET name = ? WHERE code = ?", (name, code))
        self._forget_units()

    # -- documents -------------------------------------------------------------------

    def merge_document(self, record: DocumentRecord, batch_id: int, batch_time: datetime) -> tuple[str, ...]:
        """Fold one source's description into the store; returns the document ids it changed."""
        targets = tuple(t for t in record.replaces if t != record.document_id)
        if record.business_type is BusinessType.REVOKE:
            revoked = targets or (record.document_id,)
            for target in revoked:
                self._set_status(target, "revoked", None, batch_id, batch_time)
            return revoked
        with self.changing(record.document_id):
            self._merge_fields(record, batch_id, batch_time)
            self._merge_recipients(record)
            self.conn.execute(
                "INSERT OR IGNORE INTO document_sources (document_id, batch_id, item_name, source) VALUES (?, ?, ?, ?)",
                (record.document_id, batch_id, record.item_name, record.source.value),
            )
        if record.business_type is BusinessType.REPLACE:
            for target in targets:
                self._set_status(target, "replaced", record.document_id, batch_id, batch_time)
        return (record.document_id, *targets)

    def document_exists(self, document_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM documents WHERE document_id = ?", (document_id,)).fetchone() is not None

    def merge_new_documents(self, records: list[DocumentRecord], batch_id: int, batch_time: datetime,
                            signed: Mapping[str, NewSignatures] | None = None) -> list[DocumentRecord]:
        """Bulk ``merge_document`` for NEW records of documents not stored yet; returns the others, in order.

        Same rows and counter deltas as merging one by one, in a handful of executemany calls:
        a new document has no prior contribution, so its counters are just its own contribution.
        The records returned (already stored, or seen earlier in ``records``) must then be merged
        one by one, after this call, by the caller. ``signed``: document id → the signatures of its
        signed files, none of them stored yet (``is_unseen``), stored with it as ``add_signatures``
        would; a record with signatures must not be one of those returned.
        """
        stored = self._stored_ids([record.document_id for record in records])
        fresh: list[DocumentRecord] = []
        later: list[DocumentRecord] = []
        taken: set[str] = set()
        for record in records:
            if record.business_type is not BusinessType.NEW or record.replaces or record.document_id in stored \
                    or record.document_id in taken:
                later.append(record)
            else:
                taken.add(record.document_id)
                fresh.append(record)
        if signed and not taken.issuperset(signed):
            raise ValueError("a record with signatures was not new; it must be merged with merge_document")
        if fresh:
            self._insert_new_documents(fresh, batch_id, batch_time, signed or {})
        return later

    def _insert_new_documents(self, records: list[DocumentRecord], batch_id: int, batch_time: datetime,
                              signed: Mapping[str, NewSignatures]) -> None:
        handled = self._handled_at([record.document_id for record in records])
        document_rows: list[tuple[object, ...]] = []
        recipient_rows: list[tuple[str, str, int, str | None]] = []
        source_rows = [(record.document_id, batch_id, record.item_name, record.source.value) for record in records]
        # Documents in one batch share a few states (unit, month, channel, recipients): counting
        # each state's documents and computing its contribution once is most of the bulk speed-up.
        states: Counter[tuple[tuple[object, ...], tuple[RecipientRow, ...]]] = Counter()
        for record in records:
            document_id = record.document_id
            values = merged_values(None, record, batch_time)
            signatures = signed.get(document_id)
            facts = fact_values(signatures.facts if signatures else SignatureFacts())
            document_rows.append((document_id, *_document_values(values), *facts, batch_id, batch_id))
            recipients = new_recipients(record, handled)
            recipient_rows.extend((document_id, unit, int(electronic), when) for unit, electronic, when in recipients)
            states[(state_values(values, facts), recipients)] += 1
        names = ", ".join(("document_id", *MERGED_COLUMNS, *FACT_COLUMNS, "first_batch_id", "last_batch_id"))
        marks = ", ".join("?" * (len(MERGED_COLUMNS) + len(FACT_COLUMNS) + 3))
        # Plain INSERTs: these documents are new, so none of their rows can exist yet.
        self.conn.executemany(f"INSERT INTO documents ({names}) VALUES ({marks})", document_rows)
        self.conn.executemany(
            "INSERT INTO recipients (document_id, unit, received_electronic, handled_at) VALUES (?, ?, ?, ?)",
            recipient_rows,
        )
        self.conn.executemany(
            "INSERT INTO document_sources (document_id, batch_id, item_name, source) VALUES (?, ?, ?, ?)", source_rows
        )
        # In record order, as one by one: the signatures' ids and each certificate's first unit come out the same.
        in_order = [signed[record.document_id] for record in records if record.document_id in signed]
        self.conn.executemany(SIGNATURE_INSERT, [row for signatures in in_order for row in signatures.rows])
        self.conn.executemany(CERTIFICATE_UPSERT, [row for signatures in in_order for row in signatures.certificates])
        self._apply(total_contribution(states))

    def is_unseen(self, document_id: str, payload_sha256s: list[str]) -> bool:
        """Neither the document nor any of these signed files is stored yet."""
        if self.document_exists(document_id):
            return False
        marks = ", ".join("?" * len(payload_sha256s))
        return not payload_sha256s or self.conn.execute(
            f"SELECT 1 FROM signatures WHERE payload_sha256 IN ({marks}) LIMIT 1", payload_sha256s
        ).fetchone() is None

    def new_document_signatures(self, record: DocumentRecord, files: list[tuple[str, str, list[Verdict]]],
                                batch_id: int, batch_time: datetime) -> NewSignatures:
        """The rows ``add_signatures`` would write for a new document's signed files (SHA-256, name, verdicts)."""
        sender = merged_values(None, record, batch_time)["sender"]
        sender = str(sender) if sender else None
        rows: list[tuple[object, ...]] = []
        certificates: list[tuple[object, ...]] = []
        facts: list[SignatureFact] = []
        for payload_sha256, item_name, verdicts in files:
            for verdict in verdicts:
                belongs = self._belongs(signer_identity(verdict), sender)
                rows.append(signature_row(verdict, payload_sha256, item_name, batch_id, record.document_id, belongs))
                if verdict.signer_cert_sha256:
                    certificates.append(certificate_row(verdict, sender if belongs else None))
                facts.append(signature_fact(verdict, payload_sha256, belongs))
        return NewSignatures(tuple(rows), tuple(certificates), signature_facts(facts))

    def _stored_ids(self, document_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(document_ids):
            marks = ", ".join("?" * len(chunk))
            found.update(row[0] for row in self.conn.execute(
                f"SELECT document_id FROM documents WHERE document_id IN ({marks})", chunk))
        return found

    def _handled_at(self, document_ids: list[str]) -> dict[tuple[str, str], str]:
        """(document, unit) → first completion (status 06) already recorded, as _add_recipient reads it."""
        handled: dict[tuple[str, str], str] = {}
        for chunk in _chunks(document_ids):
            marks = ", ".join("?" * len(chunk))
            for document_id, unit, first in self.conn.execute(
                "SELECT document_id, reporting_unit, min(timestamp) FROM status_events"
                f" WHERE code = '06' AND document_id IN ({marks}) GROUP BY document_id, reporting_unit", chunk,
            ):
                if first is not None:
                    handled[(document_id, unit)] = first
        return handled

    def _merge_fields(self, record: DocumentRecord, batch_id: int, batch_time: datetime) -> None:
        current = self._document_row(record.document_id)
        merged = merged_values(current, record, batch_time)
        self._write_document(record.document_id, merged, batch_id, is_new=current is None)

    def _write_document(self, document_id: str, values: dict[str, object], batch_id: int, *, is_new: bool) -> None:
        columns = MERGED_COLUMNS
        row = tuple(values[name] for name in columns)
        if is_new:
            names = ", ".join(("document_id", *columns, "first_batch_id", "last_batch_id"))
            marks = ", ".join("?" for _ in range(len(columns) + 3))
            self.conn.execute(f"INSERT INTO documents ({names}) VALUES ({marks})", (document_id, *row, batch_id, batch_id))
        else:
            assignments = ", ".join(f"{name} = ?" for name in (*columns, "last_batch_id"))
            self.conn.execute(f"UPDATE documents SET {assignments} WHERE document_id = ?", (*row, batch_id, document_id))

    def _merge_recipients(self, record: DocumentRecord) -> None:
        for unit, received_electronic in recipient_pairs(record):
            self._add_recipient(record.document_id, unit, received_electronic)

    def _add_recipient(self, document_id: str, unit: str, received_electronic: bool) -> None:
        handled = self.conn.execute(
            "SELECT min(timestamp) FROM status_events WHERE document_id = ? AND reporting_unit = ? AND code = '06'",
            (document_id, unit),
        ).fetchone()[0]
        self.conn.execute(_RECIPIENT_UPSERT, (document_id, unit, int(received_electronic), handled))

    def _set_status(self, document_id: str, status: str, replaced_by: str | None, batch_id: int,
                    batch_time: datetime) -> None:
        with self.changing(document_id):
            if not self.document_exists(document_id):
                # The revocation came first: keep a placeholder so the original, when it
                # arrives, merges into a document that is already revoked.
                self._write_document(document_id, placeholder_values(document_id, status, batch_time), batch_id,
                                     is_new=True)
            self.conn.execute(
                "UPDATE documents SET business_status = ?, replaced_by = coalesce(?, replaced_by),"
                " last_batch_id = ? WHERE document_id = ?",
                (status, replaced_by, batch_id, document_id),
            )

    # -- status events ---------------------------------------------------------------

    def add_status_event(self, event: StatusEvent, batch_id: int) -> bool:
        """Record a status package once; a completion (06) sets that recipient's handled_at."""
        timestamp = event.timestamp.isoformat() if event.timestamp else None
        seen = self.conn.execute(
            "SELECT 1 FROM status_events WHERE document_id = ? AND reporting_unit = ? AND code = ?"
            " AND timestamp IS ?",
            (event.document_id, event.reporting_unit, event.code, timestamp),
        ).fetchone()
        if seen:
            return False
        self.conn.execute(
            "INSERT INTO status_events (document_id, reporting_unit, code, description, timestamp, batch_id,"
            " item_name) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event.document_id, event.reporting_unit, event.code, event.description, timestamp, batch_id,
             event.item_name),
        )
        if event.code == "06" and timestamp:
            with self.changing(event.document_id):
                self.conn.execute(
                    "UPDATE recipients SET handled_at = ? WHERE document_id = ? AND unit = ?"
                    " AND (handled_at IS NULL OR handled_at > ?)",
                    (timestamp, event.document_id, event.reporting_unit, timestamp),
                )
        return True

    # -- signatures and certificates -------------------------------------------------

    def add_signature(
        self,
        verdict: Verdict,
        *,
        payload_sha256: str,
        item_name: str,
        batch_id: int,
        document_id: str | None,
    ) -> bool:
        """Record one verdict once per (file, index); returns True when it was new."""
        return self.add_signatures([verdict], payload_sha256=payload_sha256, item_name=item_name,
                                   batch_id=batch_id, document_id=document_id) == 1

    def add_signatures(
        self,
        verdicts: list[Verdict],
        *,
        payload_sha256: str,
        item_name: str,
        batch_id: int,
        document_id: str | None,
    ) -> int:
        """``add_signature`` for each verdict of one file; returns how many were new.

        The document's signature facts (and so its counters) are refreshed once for the file, not once
        per signature: the same end state, for half the work on an NĐ 30 pair.
        """
        sender = self._sender(document_id)
        new = sum(self._insert_signature(verdict, payload_sha256, item_name, batch_id, document_id, sender)
                  for verdict in verdicts)
        if new and document_id is not None:
            with self.changing(document_id):
                self._refresh_signature_facts(document_id)
        return new

    def _insert_signature(self, verdict: Verdict, payload_sha256: str, item_name: str, batch_id: int,
                          document_id: str | None, sender: str | None) -> bool:
        belongs = self._belongs(signer_identity(verdict), sender)
        # Insert first and look only when nothing was inserted: a signature is almost always new.
        inserted = self.conn.execute(
            SIGNATURE_INSERT, signature_row(verdict, payload_sha256, item_name, batch_id, document_id, belongs)
        ).rowcount
        if not inserted:
            existing = self.conn.execute(
                "SELECT document_id FROM signatures WHERE payload_sha256 = ? AND idx = ?",
                (payload_sha256, verdict.index),
            ).fetchone()
            if existing[0] is None and document_id is not None:
                self.attach_payload(payload_sha256, document_id)
            return False
        self._upsert_certificate(verdict, sender if belongs else None)
        return True

    def _sender(self, document_id: str | None) -> str | None:
        if document_id is None:
            return None
        row = self.conn.execute("SELECT sender FROM documents WHERE document_id = ?", (document_id,)).fetchone()
        return row[0] if row else None

    def attach_payload(self, payload_sha256: str, document_id: str) -> None:
        """Give a signed file stored without a document (seen before its record) to that document."""
        rows = self.conn.execute(
            "SELECT s.idx, s.cert_sha256, s.signer_serial, s.kind, c.common_name, c.organisation FROM signatures s"
            " LEFT JOIN certificates c ON c.sha256 = s.cert_sha256"
            " WHERE s.payload_sha256 = ? AND s.document_id IS NULL",
            (payload_sha256,),
        ).fetchall()
        if not rows:
            return
        sender = self._sender(document_id)
        with self.changing(document_id):
            for idx, cert, serial, kind, common_name, organisation in rows:
                identity = SignerIdentity(cert, serial, common_name, organisation, None, kind == "organisation")
                self.conn.execute(
                    "UPDATE signatures SET document_id = ?, belongs_to_sender = ? WHERE payload_sha256 = ? AND idx = ?",
                    (document_id, int_or_none(self._belongs(identity, sender)), payload_sha256, idx),
                )
            self._refresh_signature_facts(document_id)

    def _belongs(self, identity: SignerIdentity, sender: str | None) -> bool | None:
        """Whether an organisation's signature is the sending unit's, for a document whose sender is ``sender``."""
        if sender is None or not identity.is_organisation:
            return None
        key = (identity, sender)
        if key not in self._ownership:
            if self._unit_names is None:
                self._unit_names = unit_names(self.conn)
            self._ownership[key] = belongs_to_sender(self.conn, identity, sender, self._unit_names)
        return self._ownership[key]

    def _forget_units(self) -> None:
        """Units (or, between transactions, the issued-certificates list) may have changed: ownership is re-read."""
        self._unit_names = None
        self._ownership.clear()

    def _upsert_certificate(self, verdict: Verdict, unit: str | None) -> None:
        """Count the certificate's use; ``unit``: the sender it was found to belong to, if it was."""
        if verdict.signer_cert_sha256:
            self.conn.execute(CERTIFICATE_UPSERT, certificate_row(verdict, unit))

    def _refresh_signature_facts(self, document_id: str) -> None:
        rows = self.conn.execute(
            "SELECT payload_sha256, idx, indication, subindication, kind, covers_whole_file, belongs_to_sender,"
            " modification_permitted FROM signatures WHERE document_id = ?",
            (document_id,),
        ).fetchall()
        facts = signature_facts(
            SignatureFact(sha, idx, indication, sub, kind, _bool_or_none(covers), _bool_or_none(belongs),
                          _bool_or_none(permitted))
            for sha, idx, indication, sub, kind, covers, belongs, permitted in rows
        )
        assignments = ", ".join(f"{name} = ?" for name in FACT_COLUMNS)
        self.conn.execute(f"UPDATE documents SET {assignments} WHERE document_id = ?",
                          (*fact_values(facts), document_id))

    # -- counters --------------------------------------------------------------------

    @contextmanager
    def changing(self, document_id: str) -> Iterator[None]:
        """Apply, in this transaction, the counter difference everything in the block makes to the document.

        Blocks for the same document nest: only the outermost one computes the difference, so a
        caller making several changes to one document (a record, then its signatures) pays once.
        """
        if document_id in self._changes_open:
            yield
            return
        before = self._contribution(document_id)
        self._changes_open.add(document_id)
        try:
            yield
        finally:
            self._changes_open.discard(document_id)
        after = self._contribution(document_id)
        difference: dict[tuple[str, str], CounterDelta] = {}
        for key in before.keys() | after.keys():
            delta = Counter(after.get(key, Counter()))
            delta.subtract(before.get(key, Counter()))
            difference[key] = delta
        self._apply(difference)

    def _contribution(self, document_id: str) -> dict[tuple[str, str], CounterDelta]:
        row = self.conn.execute(f"SELECT {_STATE_COLUMNS} FROM documents WHERE document_id = ?", (document_id,)).fetchone()
        if row is None:
            return {}
        recipients = self.conn.execute(
            "SELECT unit, received_electronic, handled_at FROM recipients WHERE document_id = ?", (document_id,)
        ).fetchall()
        return contribution(doc_state(row), [RecipientState(u, bool(e), h) for u, e, h in recipients])

    def _apply(self, deltas: dict[tuple[str, str], CounterDelta]) -> None:
        # One upsert of every column (adding zeros changes nothing) instead of an insert and an update per row.
        rows = [(unit, period, *(delta.get(name, 0) for name in COUNTER_COLUMNS))
                for (unit, period), delta in deltas.items() if any(delta.values())]
        self.conn.executemany(_COUNTERS_UPSERT, rows)

    def counter_rows(self) -> list[CounterRow]:
        """The maintained counters, all-zero rows left out, sorted by unit and period."""
        columns = ", ".join(COUNTER_COLUMNS)
        rows = self.conn.execute(f"SELECT unit, period, {columns} FROM unit_counters ORDER BY unit, period")
        return [CounterRow(unit, period, tuple(values)) for unit, period, *values in rows if any(values)]

    def expected_counters(self) -> list[CounterRow]:
        """The counters as they would be rebuilt from documents alone (the reference for tests)."""
        totals: dict[tuple[str, str], Counter[str]] = {}
        recipients: dict[str, list[RecipientState]] = {}
        for document_id, unit, electronic, handled in self.conn.execute(
            "SELECT document_id, unit, received_electronic, handled_at FROM recipients"
        ):
            recipients.setdefault(document_id, []).append(RecipientState(unit, bool(electronic), handled))
        for document_id, *state in self.conn.execute(f"SELECT document_id, {_STATE_COLUMNS} FROM documents"):
            for key, delta in contribution(doc_state(tuple(state)), recipients.get(document_id, [])).items():
                totals.setdefault(key, Counter()).update(delta)
        rows = [
            CounterRow(unit, period, tuple(totals[(unit, period)][name] for name in COUNTER_COLUMNS))
            for unit, period in sorted(totals)
        ]
        return [row for row in rows if any(row.values)]

    def recompute_counters(self) -> None:
        """Rebuild ``unit_counters`` from the documents (the ``--rebuild`` repair path)."""
        expected = self.expected_counters()
        with self.transaction():
            self.conn.execute("DELETE FROM unit_counters")
            marks = ", ".join("?" for _ in range(len(COUNTER_COLUMNS) + 2))
            self.conn.executemany(
                f"INSERT INTO unit_counters (unit, period, {', '.join(COUNTER_COLUMNS)}) VALUES ({marks})",
                [(row.unit, row.period, *row.values) for row in expected],
            )

    def _document_row(self, document_id: str) -> dict[str, object] | None:
        return next(self.db.query("SELECT * FROM documents WHERE document_id = ?", (document_id,)), None)


_STATE_COLUMNS = ", ".join(STATE_COLUMNS)
"""``STATE_COLUMNS`` as a SELECT list, in ``doc_state``'s order."""

_document_values = operator.itemgetter(*MERGED_COLUMNS)

_COUNTERS_UPSERT = (
    f"INSERT INTO unit_counters (unit, period, {', '.join(COUNTER_COLUMNS)})"
    f" VALUES (?, ?, {', '.join('?' * len(COUNTER_COLUMNS))})"
    f" ON CONFLICT (unit, period) DO UPDATE SET {', '.join(f'{name} = {name} + excluded.{name}' for name in COUNTER_COLUMNS)}"
)

_RECIPIENT_UPSERT = (
    "INSERT INTO recipients (document_id, unit, received_electronic, handled_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (document_id, unit) DO UPDATE SET"
    " received_electronic = max(received_electronic, excluded.received_electronic)"
)

_SQL_PARAMETERS = 500
"""Ids per IN (...) query, well under SQLite's bound-parameter limit."""

def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _SQL_PARAMETERS):
        yield values[start:start + _SQL_PARAMETERS]


def _file_identities(path: Path) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
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


def _parent_code(code: str) -> str | None:
    """Zero the leftmost non-zero segment (docs/domain.md §2); None for the top or a malformed code."""
    if not CODE_PATTERN.match(code):
        return None
    segments = code.split(".")
    for position, width in ((0, 3), (1, 2), (2, 2)):
        if int(segments[position]):
            segments[position] = "0" * width
            return ".".join(segments)
    return None


def _bool_or_none(value: object) -> bool | None:
    return None if value is None else bool(value)
