"""The SQLite store: batches, documents, signatures, and the counters kept beside them.

``Store`` is a facade: opening and transactions are ``docflow.store.connection``; documents,
recipients, status events and units ``docflow.store.documents``; signatures and certificates
``docflow.store.signatures``; the counters ``docflow.store.counters``, which keep them equal to
what ``recompute_counters`` would build from the documents, however often a document is merged,
revoked or seen again. WAL mode lets summaries and audits read while the watcher writes.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from docflow.records import DocumentRecord, RejectedItem, SignedPayload, StatusEvent
from docflow.store.connection import (
    BUSY_TRIES,
    BUSY_TRY_SECONDS,
    StoreFile,
    busy_message,
    check_docflow_schema,
    check_store_file,
    describe_database_error,
    is_busy,
    open_reader,
    open_writer,
    retry_while_busy,
    schema_version,
)
from docflow.store.counters import CounterBook, CounterRow
from docflow.store.documents import DocumentBook
from docflow.store.errors import StoreBusy, StoreError, StoreReplaced
from docflow.store.location import is_server_url, parse_location
from docflow.store.ownership import OwnershipCache
from docflow.store.payloads import PayloadStore, payload_directory
from docflow.store.signature_rows import (
    Judgement,
    NewSignatures,
    SignatureWindow,
    StoredSignature,
    window_count_query,
    window_query,
)
from docflow.store.signatures import SignatureBook, SignedFile
from docflow.store.trust_states import record_trust_state, trust_inventory
from signatures.trust import TrustMember, TrustStore
from signatures.verdict import Verdict

__all__ = [
    "Store",
    "BatchRow",
    "CounterRow",
    "StoreError",
    "StoreBusy",
    "StoreReplaced",
    "check_store_file",
    "check_docflow_schema",
    "retry_while_busy",
    "is_busy",
    "describe_database_error",
    "busy_message",
    "BUSY_TRIES",
    "BUSY_TRY_SECONDS",
]


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


class Store:
    """An open store. Use ``Store.open`` (read-write, migrates) or ``Store.open_readonly``."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None = None, *, payloads: Path | None = None) -> None:
        self.conn = conn
        self._ownership = OwnershipCache(self.conn)
        self._file = StoreFile(self.conn, path, on_begin=self._ownership.forget)
        """Another process (a units or certificates import) may have changed units between transactions."""
        self._counters = CounterBook(self.conn)
        self._signatures = SignatureBook(self.conn, self._counters, self._ownership)
        self._documents = DocumentBook(conn, self._counters, self._ownership, self._signatures)
        # Absolute: a reason naming the folder must hold wherever it is read, and a later chdir must not move it.
        folder = payload_directory(path.absolute()) if path is not None else payloads
        self.payloads = PayloadStore(folder.absolute()) if folder is not None else None
        """Where the signed files are kept (``docflow.store.payloads``); None for a store without a folder for them."""

    # -- opening and transactions ----------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, *, payloads: Path | None = None) -> Store:
        """Open (creating if needed) and migrate the store at ``path``, a file or a PostgreSQL URL; StoreError when it
        is not a docflow store. ``payloads``: where a PostgreSQL store keeps signed files (none kept without it); a
        file keeps them beside itself."""
        if isinstance(path, str) and is_server_url(path):
            return cls(open_writer(parse_location(path)), payloads=payloads)
        path = Path(path)
        return cls(open_writer(path), path)

    @classmethod
    def open_readonly(cls, path: Path | str) -> Store:
        """A store that cannot be changed through this connection (for reports and audits)."""
        return cls(open_reader(parse_location(path) if isinstance(path, str) else path))

    @property
    def path(self) -> Path | None:
        """The file opened for writing; its identity is checked before each write (``check_unchanged``)."""
        return self._file.path

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return schema_version(self.conn)

    def check_unchanged(self) -> None:
        """StoreReplaced when the path no longer names the file (or write-ahead log) this store opened."""
        self._file.check_unchanged()

    def transaction(self) -> AbstractContextManager[None]:
        """One write transaction: BEGIN IMMEDIATE, then COMMIT, or ROLLBACK on any exception.

        Waits for another docflow's write lock (``retry_while_busy``: StoreBusy in the end), and refuses
        to write into a file that is no longer the store's (``check_unchanged``).
        """
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            with self._file.transaction():
                yield
                self._counters.flush()
                self._sync_payloads()  # the signed files are on disk before the rows naming them commit
        except BaseException:
            self._counters.discard()
            if self.payloads is not None:
                self.payloads.discard()
            raise

    def commit_and_begin(self) -> None:
        """Inside ``transaction``: make what was written so far durable and go on in a new transaction."""
        self._counters.flush()
        self._sync_payloads()
        self._file.commit_and_begin()

    def _sync_payloads(self) -> None:
        if self.payloads is not None:
            self.payloads.sync()

    # -- batches and rejected items --------------------------------------------------

    def batch_by_sha256(self, sha256: str) -> BatchRow | None:
        cursor = self.conn.execute("SELECT * FROM batches WHERE sha256 = ?", (sha256,))
        row = cursor.fetchone()
        return BatchRow(**dict(zip([column[0] for column in cursor.description], row, strict=True))) if row else None

    def nothing_accepted(self, sha256: str) -> bool:
        """The batch was read, items were refused, and nothing of it was kept: no document, status or signature.

        The one rule behind ``docflow ingest`` exiting 2 for such a batch and the watcher filing it in rejected/.
        """
        row = self.batch_by_sha256(sha256) if sha256 else None
        if row is None or row.id is None or row.outcome != "ingested" or not row.rejected_items:
            return False
        kept = self.conn.execute(
            "SELECT EXISTS (SELECT 1 FROM document_sources WHERE batch_id = :id)"
            " OR EXISTS (SELECT 1 FROM status_events WHERE batch_id = :id)"
            " OR EXISTS (SELECT 1 FROM signatures WHERE batch_id = :id)",
            {"id": row.id},
        ).fetchone()[0]
        return not kept

    def record_batch(self, batch: BatchRow) -> int:
        """Insert a batch row; returns its id."""
        values = {name: value for name, value in batch.__dict__.items() if name != "id"}
        columns = ", ".join(values)
        placeholders = ", ".join("?" for _ in values)
        cursor = self.conn.execute(
            f"INSERT INTO batches ({columns}) VALUES ({placeholders}) RETURNING id", tuple(values.values())
        )
        return int(cursor.fetchone()[0])

    def finish_batch(self, batch_id: int, documents: int, signatures: int, rejected_items: int) -> None:
        self.conn.execute(
            "UPDATE batches SET documents = ?, signatures = ?, rejected_items = ?, outcome = 'ingested',"
            " items_done = NULL, owner = NULL WHERE id = ?",
            (documents, signatures, rejected_items, batch_id),
        )

    def batch_in_progress(
        self, batch_id: int, items_done: int, owner: str, processed_at: str, counts: tuple[int, int, int]
    ) -> None:
        """Mark a batch committed in part: ``items_done`` items, and the documents, signatures and rejected
        items they held so far."""
        self.conn.execute(
            "UPDATE batches SET outcome = 'in progress', items_done = ?, owner = ?, processed_at = ?,"
            " documents = ?, signatures = ?, rejected_items = ? WHERE id = ?",
            (items_done, owner, processed_at, *counts, batch_id),
        )

    def add_rejected_item(self, batch_id: int, item: RejectedItem) -> None:
        self.conn.execute(
            "INSERT INTO rejected_items (batch_id, item_name, reason) VALUES (?, ?, ?)",
            (batch_id, item.item_name, item.reason),
        )

    # -- documents, units and status events (docflow.store.documents) ----------------

    def upsert_unit(self, code: str, name: str | None, source: str) -> None:
        """Add a unit seen in a batch; an existing unit only gains a name it lacked."""
        self._documents.upsert_unit(code, name, source)

    def merge_document(self, record: DocumentRecord, batch_id: int, batch_time: datetime) -> tuple[str, ...]:
        """Fold one source's description into the store; returns the document ids it changed."""
        return self._documents.merge_document(record, batch_id, batch_time)

    def document_exists(self, document_id: str) -> bool:
        return self._documents.document_exists(document_id)

    def merge_new_documents(
        self,
        records: list[DocumentRecord],
        batch_id: int,
        batch_time: datetime,
        signed: Mapping[str, NewSignatures] | None = None,
    ) -> list[DocumentRecord]:
        """Bulk ``merge_document`` for NEW records of documents not stored yet; returns the others, in order
        (see ``DocumentBook.merge_new_documents``)."""
        return self._documents.merge_new_documents(records, batch_id, batch_time, signed)

    def is_unseen(self, document_id: str, payload_sha256s: list[str]) -> bool:
        """Neither the document nor any of these signed files is stored yet."""
        return self._documents.is_unseen(document_id, payload_sha256s)

    def add_status_event(self, event: StatusEvent, batch_id: int) -> bool:
        """Record a status package once; a completion (06) sets that recipient's handled_at."""
        return self._documents.add_status_event(event, batch_id)

    # -- signatures and certificates (docflow.store.signatures) ----------------------

    def add_signature(
        self,
        verdict: Verdict,
        *,
        payload_sha256: str,
        item_name: str,
        batch_id: int,
        document_id: str | None,
        trust_checked: bool,
        trust_fingerprint: str | None = None,
    ) -> bool:
        """Record one verdict once per (file, index); returns True when it was new. ``trust_checked``: it was
        made against a trust store holding at least one anchor (``signatures.trust_checked``); ``trust_fingerprint``:
        that store's ``TrustStore.fingerprint``."""
        return (
            self.add_signatures(
                [verdict],
                payload_sha256=payload_sha256,
                item_name=item_name,
                batch_id=batch_id,
                document_id=document_id,
                trust_checked=trust_checked,
                trust_fingerprint=trust_fingerprint,
            )
            == 1
        )

    def add_signatures(
        self,
        verdicts: list[Verdict],
        *,
        payload_sha256: str,
        item_name: str,
        batch_id: int,
        document_id: str | None,
        trust_checked: bool,
        trust_fingerprint: str | None = None,
    ) -> int:
        """``add_signature`` for each verdict of one file; returns how many were new."""
        return self._signatures.add(
            verdicts,
            payload_sha256=payload_sha256,
            item_name=item_name,
            batch_id=batch_id,
            document_id=document_id,
            judgement=judgement_now(trust_checked, trust_fingerprint),
        )

    def new_document_signatures(
        self,
        record: DocumentRecord,
        files: list[SignedFile],
        batch_id: int,
        batch_time: datetime,
        *,
        trust_checked: bool,
        trust_fingerprint: str | None = None,
    ) -> NewSignatures:
        """The rows ``add_signatures`` would write for a new document's signed files (SHA-256, name, verdicts)."""
        return self._signatures.for_new_document(
            record, files, batch_id, batch_time, judgement_now(trust_checked, trust_fingerprint)
        )

    def attach_payload(self, payload_sha256: str, document_id: str) -> None:
        """Give a signed file stored without a document (seen before its record) to that document."""
        self._signatures.attach_payload(payload_sha256, document_id)

    # -- kept signed files and re-verification (docflow.store.payloads, trust_states) --

    def keep_payload(self, payload: SignedPayload, sha256: str) -> None:
        """Keep a signed file whose signatures this transaction records (and a detached signature's content)
        beside the store: written to disk now, before the transaction commits; its ``payloads`` row with it."""
        if self.payloads is None:
            return
        content_sha256 = None
        if payload.content is not None:
            content_sha256 = hashlib.sha256(payload.content).hexdigest()
            self.payloads.put(content_sha256, payload.content)
        self.payloads.put(sha256, payload.data)
        self.conn.execute(
            "INSERT INTO payloads (sha256, kind, content_sha256, size_bytes, kept_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (sha256, payload.kind, content_sha256, len(payload.data), _now()),
        )

    def kept_payload(self, sha256: str) -> tuple[str, str | None] | None:
        """(kind, content SHA-256) of a kept signed file; None when none was kept."""
        row = self.conn.execute("SELECT kind, content_sha256 FROM payloads WHERE sha256 = ?", (sha256,)).fetchone()
        return (str(row[0]), row[1]) if row else None

    def record_trust_state(self, trust: TrustStore) -> None:
        """Record what ``trust`` holds under its fingerprint, once (``trust_states``)."""
        if self.conn.in_transaction:
            record_trust_state(self.conn, trust)
            return
        # Outside a batch, in a short transaction of its own: writers starting under a new trust state on
        # PostgreSQL would otherwise each wait for the first one's whole batch to commit its row.
        if not self.conn.execute("SELECT 1 FROM trust_states WHERE fingerprint = ?", (trust.fingerprint,)).fetchone():
            with self.transaction():
                record_trust_state(self.conn, trust)

    def trust_inventory(self, fingerprint: str) -> tuple[TrustMember, ...] | None:
        return trust_inventory(self.conn, fingerprint)

    def last_signature_id(self) -> int:
        """The highest ``signatures.id`` now: rows a re-verification plan made now does not include come after."""
        return int(self.conn.execute("SELECT coalesce(max(id), 0) FROM signatures").fetchone()[0])

    def stored_signature_window(self, window: SignatureWindow) -> list[tuple[StoredSignature, int]]:
        """Stored signatures ``window`` selects, in commit-unit order, each with how many rows the store holds for
        its signed file (every row, in scope or not: what verifying the file again must find)."""
        query, params = window_query(window)
        return [(StoredSignature(*row[:-1]), int(row[-1])) for row in self.conn.execute(query, params)]

    def stored_signature_count(self, window: SignatureWindow) -> int:
        """How many stored signatures a plan starting with ``window`` reads in all (both halves)."""
        query, params = window_count_query(window)
        return int(self.conn.execute(query, params).fetchone()[0])

    def rejudge(self, judged: list[tuple[int, Verdict]], judgement: Judgement) -> list[tuple[StoredSignature, bool]]:
        """Write new verdicts of stored signatures (by id; one document's), with its counters; returns each row as
        it was, and whether its verdict changed (each change kept in ``verdict_changes``)."""
        return self._signatures.rejudge(judged, judgement)

    # -- counters (docflow.store.counters) -------------------------------------------

    def changing(self, document_id: str) -> AbstractContextManager[None]:
        """Apply, in this transaction, the counter difference everything in the block makes to the document."""
        return self._counters.changing(document_id)

    def counter_rows(self) -> list[CounterRow]:
        """The maintained counters, all-zero rows left out, sorted by unit and period."""
        return self._counters.rows()

    def expected_counters(self) -> list[CounterRow]:
        """The counters as they would be rebuilt from documents alone (the reference for tests)."""
        return self._counters.expected()

    def recompute_counters(self) -> None:
        """Rebuild ``unit_counters`` from the documents (the ``--rebuild`` repair path)."""
        expected = self._counters.expected()
        with self.transaction():
            self._counters.replace_all(expected)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def judgement_now(trust_checked: bool, trust_fingerprint: str | None) -> Judgement:
    """Verdicts made now, against a trust store holding an anchor or not, under the state ``trust_fingerprint``."""
    return Judgement(trust_checked, trust_fingerprint, _now())
