"""Merging documents into the store: their fields, recipients, sources, status events, and the units they name.

What a merged document looks like is decided in ``docflow.store.merging``; this module reads and
writes the rows, each change to a document inside ``CounterBook.changing`` so that its counters
follow. ``merge_new_documents`` is the bulk path for documents not stored yet.
"""

from __future__ import annotations

import operator
import sqlite3
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime

from docflow.agency import parse_agency_code
from docflow.i18n import _
from docflow.readers.mojibake import garbled
from docflow.records import BusinessType, DocumentRecord, StatusEvent
from docflow.store.classify import SignatureFacts, classify_level
from docflow.store.connection import insert_new
from docflow.store.counters import CounterBook
from docflow.store.errors import CONFLICT_MESSAGE, StoreConflict
from docflow.store.merging import (
    MERGED_COLUMNS,
    RecipientRow,
    merged_values,
    new_recipients,
    placeholder_values,
    recipient_pairs,
    state_values,
    total_contribution,
)
from docflow.store.ownership import OwnershipCache
from docflow.store.pg_connection import hold_documents
from docflow.store.signature_rows import FACT_COLUMNS, NewSignatures, fact_values
from docflow.store.signatures import SignatureBook

__all__ = ["DocumentBook"]

_document_values = operator.itemgetter(*MERGED_COLUMNS)

_RECIPIENT_UPSERT = (
    "INSERT INTO recipients (document_id, unit, received_electronic, handled_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (document_id, unit) DO UPDATE SET"
    " received_electronic = CASE WHEN excluded.received_electronic > recipients.received_electronic"
    " THEN excluded.received_electronic ELSE recipients.received_electronic END"
)

_SQL_PARAMETERS = 500
"""Ids per IN (...) query, well under SQLite's bound-parameter limit."""


class DocumentBook:
    """The ``documents``, ``recipients``, ``document_sources``, ``status_events`` and ``units`` rows."""

    def __init__(
        self, conn: sqlite3.Connection, counters: CounterBook, ownership: OwnershipCache, signatures: SignatureBook
    ) -> None:
        self._conn = conn
        self._counters = counters
        self._ownership = ownership
        self._signatures = signatures

    # -- units -----------------------------------------------------------------------

    def upsert_unit(self, code: str, name: str | None, source: str) -> None:
        """Add a unit seen in a batch; an existing unit only gains a name it lacked."""
        code = code.strip()
        if not code:
            return
        existing = self._conn.execute("SELECT name, source FROM units WHERE code = ?", (code,)).fetchone()
        if existing is not None:
            if name and not existing[0]:
                self._conn.execute("UPDATE units SET name = ? WHERE code = ?", (name, code))
                self._ownership.forget()
            elif name and garbled(existing[0]) and not garbled(name):
                self._repair_unit_name(code, name, derived_level=existing[1] != "import")
            return
        if name:
            self._ownership.forget()
        agency = parse_agency_code(code, normalise=False)  # kept as written: a lower-case code stays invalid
        self._conn.execute(
            # On PostgreSQL another writer may be adding the same new unit: this waits for it, then keeps its row.
            "INSERT INTO units (code, name, level, parent, code_valid, source) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (code) DO NOTHING",
            (code, name, self._level(code, name), agency.parent, int(agency.valid), source),
        )

    def _level(self, code: str, name: str | None) -> str:
        parent = parse_agency_code(code, normalise=False).parent
        parent_row = self._conn.execute("SELECT level FROM units WHERE code = ?", (parent,)).fetchone()
        return classify_level(code, name, parent_row[0] if parent_row else None)

    def _repair_unit_name(self, code: str, name: str, *, derived_level: bool) -> None:
        """A clean name replaces one read in the wrong encoding; a level derived from the garbled name follows."""
        if derived_level:
            self._conn.execute(
                "UPDATE units SET name = ?, level = ? WHERE code = ?", (name, self._level(code, name), code)
            )
        else:
            self._conn.execute("UPDATE units SET name = ? WHERE code = ?", (name, code))
        self._ownership.forget()

    # -- documents -------------------------------------------------------------------

    def merge_document(self, record: DocumentRecord, batch_id: int, batch_time: datetime) -> tuple[str, ...]:
        """Fold one source's description into the store; returns the document ids it changed."""
        targets = tuple(t for t in record.replaces if t != record.document_id)
        if record.business_type is BusinessType.REVOKE:
            revoked = targets or (record.document_id,)
            for target in revoked:
                self._set_status(target, "revoked", None, batch_id, batch_time)
            return revoked
        with self._counters.changing(record.document_id):
            self._merge_fields(record, batch_id, batch_time)
            for unit, received_electronic in recipient_pairs(record):
                self._add_recipient(record.document_id, unit, received_electronic)
            self._conn.execute(
                "INSERT INTO document_sources (document_id, batch_id, item_name, source) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (record.document_id, batch_id, record.item_name, record.source.value),
            )
        if record.business_type is BusinessType.REPLACE:
            for target in targets:
                self._set_status(target, "replaced", record.document_id, batch_id, batch_time)
        return (record.document_id, *targets)

    def document_exists(self, document_id: str) -> bool:
        return (
            self._conn.execute("SELECT 1 FROM documents WHERE document_id = ?", (document_id,)).fetchone() is not None
        )

    def merge_new_documents(
        self,
        records: list[DocumentRecord],
        batch_id: int,
        batch_time: datetime,
        signed: Mapping[str, NewSignatures] | None = None,
    ) -> list[DocumentRecord]:
        """Bulk ``merge_document`` for NEW records of documents not stored yet; returns the others, in order.

        Same rows and counter deltas as merging one by one, in a handful of executemany calls:
        a new document has no prior contribution, so its counters are just its own contribution.
        The records returned (already stored, or seen earlier in ``records``) must then be merged
        one by one, after this call, by the caller. ``signed``: document id → the signatures of its
        signed files, none of them stored yet (``is_unseen``), stored with it as ``add_signatures``
        would; a record with signatures must not be one of those returned.
        """
        hold_documents(self._conn, [record.document_id for record in records])
        stored = self._stored_ids([record.document_id for record in records])
        if signed and stored.intersection(signed):
            # Unseen when read, stored since by another writer on PostgreSQL: taken again, the batch merges them.
            raise StoreConflict(_(CONFLICT_MESSAGE))
        fresh: list[DocumentRecord] = []
        later: list[DocumentRecord] = []
        taken: set[str] = set()
        for record in records:
            if (
                record.business_type is not BusinessType.NEW
                or record.replaces
                or record.document_id in stored
                or record.document_id in taken
            ):
                later.append(record)
            else:
                taken.add(record.document_id)
                fresh.append(record)
        if signed and not taken.issuperset(signed):
            raise ValueError("a record with signatures was not new; it must be merged with merge_document")
        if fresh:
            self._insert_new_documents(fresh, batch_id, batch_time, signed or {})
        return later

    def _insert_new_documents(
        self, records: list[DocumentRecord], batch_id: int, batch_time: datetime, signed: Mapping[str, NewSignatures]
    ) -> None:
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
        names = ("document_id", *MERGED_COLUMNS, *FACT_COLUMNS, "first_batch_id", "last_batch_id")
        # Plain inserts: these documents are new, so none of their rows can exist yet.
        insert_new(self._conn, "documents", names, document_rows)
        insert_new(
            self._conn, "recipients", ("document_id", "unit", "received_electronic", "handled_at"), recipient_rows
        )
        insert_new(self._conn, "document_sources", ("document_id", "batch_id", "item_name", "source"), source_rows)
        self._signatures.insert_new([signed[record.document_id] for record in records if record.document_id in signed])
        self._counters.apply(total_contribution(states))

    def is_unseen(self, document_id: str, payload_sha256s: list[str]) -> bool:
        """Neither the document nor any of these signed files is stored yet."""
        if self.document_exists(document_id):
            return False
        marks = ", ".join("?" * len(payload_sha256s))
        return (
            not payload_sha256s
            or self._conn.execute(
                f"SELECT 1 FROM signatures WHERE payload_sha256 IN ({marks}) LIMIT 1", payload_sha256s
            ).fetchone()
            is None
        )

    def _stored_ids(self, document_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(document_ids):
            marks = ", ".join("?" * len(chunk))
            found.update(
                row[0]
                for row in self._conn.execute(
                    f"SELECT document_id FROM documents WHERE document_id IN ({marks})", chunk
                )
            )
        return found

    def _handled_at(self, document_ids: list[str]) -> dict[tuple[str, str], str]:
        """(document, unit) → first completion (status 06) already recorded, as _add_recipient reads it."""
        handled: dict[tuple[str, str], str] = {}
        for chunk in _chunks(document_ids):
            marks = ", ".join("?" * len(chunk))
            for document_id, unit, first in self._conn.execute(
                "SELECT document_id, reporting_unit, min(timestamp) FROM status_events"
                f" WHERE code = '06' AND document_id IN ({marks}) GROUP BY document_id, reporting_unit",
                chunk,
            ):
                if first is not None:
                    handled[(document_id, unit)] = first
        return handled

    def _merge_fields(self, record: DocumentRecord, batch_id: int, batch_time: datetime) -> None:
        cursor = self._conn.execute("SELECT * FROM documents WHERE document_id = ?", (record.document_id,))
        found = cursor.fetchone()
        current = dict(zip([column[0] for column in cursor.description], found, strict=True)) if found else None
        merged = merged_values(current, record, batch_time)
        self._write_document(record.document_id, merged, batch_id, is_new=current is None)

    def _write_document(self, document_id: str, values: dict[str, object], batch_id: int, *, is_new: bool) -> None:
        columns = MERGED_COLUMNS
        row = tuple(values[name] for name in columns)
        if is_new:
            names = ", ".join(("document_id", *columns, "first_batch_id", "last_batch_id"))
            marks = ", ".join("?" for _ in range(len(columns) + 3))
            self._conn.execute(
                f"INSERT INTO documents ({names}) VALUES ({marks})", (document_id, *row, batch_id, batch_id)
            )
        else:
            assignments = ", ".join(f"{name} = ?" for name in (*columns, "last_batch_id"))
            self._conn.execute(
                f"UPDATE documents SET {assignments} WHERE document_id = ?", (*row, batch_id, document_id)
            )

    def _add_recipient(self, document_id: str, unit: str, received_electronic: bool) -> None:
        handled = self._conn.execute(
            "SELECT min(timestamp) FROM status_events WHERE document_id = ? AND reporting_unit = ? AND code = '06'",
            (document_id, unit),
        ).fetchone()[0]
        self._conn.execute(_RECIPIENT_UPSERT, (document_id, unit, int(received_electronic), handled))

    def _set_status(
        self, document_id: str, status: str, replaced_by: str | None, batch_id: int, batch_time: datetime
    ) -> None:
        with self._counters.changing(document_id):
            if not self.document_exists(document_id):
                # The revocation came first: keep a placeholder so the original, when it
                # arrives, merges into a document that is already revoked.
                self._write_document(
                    document_id, placeholder_values(document_id, status, batch_time), batch_id, is_new=True
                )
            self._conn.execute(
                "UPDATE documents SET business_status = ?, replaced_by = coalesce(?, replaced_by),"
                " last_batch_id = ? WHERE document_id = ?",
                (status, replaced_by, batch_id, document_id),
            )

    # -- status events ---------------------------------------------------------------

    def add_status_event(self, event: StatusEvent, batch_id: int) -> bool:
        """Record a status package once; a completion (06) sets that recipient's handled_at."""
        timestamp = event.timestamp.isoformat() if event.timestamp else None
        hold_documents(self._conn, [event.document_id])  # looked up, then written: one writer at a time
        seen = self._conn.execute(
            "SELECT 1 FROM status_events WHERE document_id = ? AND reporting_unit = ? AND code = ? AND timestamp IS ?",
            (event.document_id, event.reporting_unit, event.code, timestamp),
        ).fetchone()
        if seen:
            return False
        self._conn.execute(
            "INSERT INTO status_events (document_id, reporting_unit, code, description, timestamp, batch_id,"
            " item_name) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                event.document_id,
                event.reporting_unit,
                event.code,
                event.description,
                timestamp,
                batch_id,
                event.item_name,
            ),
        )
        if event.code == "06" and timestamp:
            with self._counters.changing(event.document_id):
                self._conn.execute(
                    "UPDATE recipients SET handled_at = ? WHERE document_id = ? AND unit = ?"
                    " AND (handled_at IS NULL OR handled_at > ?)",
                    (timestamp, event.document_id, event.reporting_unit, timestamp),
                )
        return True


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _SQL_PARAMETERS):
        yield values[start : start + _SQL_PARAMETERS]
