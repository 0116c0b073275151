"""Storing verdicts: a signed file's signatures, their certificates, and the signature facts of their document.

What a verdict's rows hold is decided in ``docflow.store.signature_rows``; this module writes them,
decides whether an organisation's signature belongs to the sender (``OwnershipCache``) and keeps
the document's signature facts, and so its counters, in step.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from itertools import groupby
from operator import itemgetter

from docflow.records import DocumentRecord
from docflow.store.classify import SignatureFact, signature_facts
from docflow.store.counters import CounterBook
from docflow.store.merging import merged_values
from docflow.store.ownership import OwnershipCache, SignerIdentity
from docflow.store.signature_rows import (
    CERTIFICATE_REUSE,
    CERTIFICATE_UPSERT,
    FACT_COLUMNS,
    SIGNATURE_INSERT,
    SIGNATURE_REJUDGE,
    STORED_SIGNATURE_SELECT,
    CertificateRow,
    Judgement,
    NewSignatures,
    SignatureRow,
    StoredSignature,
    certificate_row,
    fact_values,
    int_or_none,
    rejudge_values,
    signature_fact,
    signature_row,
    signer_identity,
)
from signatures.verdict import Verdict

__all__ = ["SignatureBook"]

SignedFile = tuple[str, str, list[Verdict]]
"""A signed file of a new document: its SHA-256, its item name, its verdicts."""


class SignatureBook:
    """The ``signatures`` and ``certificates`` rows of one connection."""

    def __init__(self, conn: sqlite3.Connection, counters: CounterBook, ownership: OwnershipCache) -> None:
        self._conn = conn
        self._counters = counters
        self._ownership = ownership

    def add(
        self,
        verdicts: list[Verdict],
        *,
        payload_sha256: str,
        item_name: str,
        batch_id: int,
        document_id: str | None,
        judgement: Judgement,
    ) -> int:
        """Record each verdict of one file once per (file, index); returns how many were new.

        ``judgement``: whether the verdicts were made against a trust store holding at least one anchor (rows made
        without one are marked so, for the summary to count and re-verification to find), under which state, when.

        The document's signature facts (and so its counters) are refreshed once for the file, not once
        per signature: the same end state, for half the work on an NĐ 30 pair.
        """
        sender = self.sender(document_id)
        new = 0
        for verdict in verdicts:
            belongs = self._ownership.belongs(signer_identity(verdict), sender)
            row = signature_row(verdict, payload_sha256, item_name, batch_id, document_id, belongs, judgement)
            new += self._insert(row, verdict, sender)
        if new and document_id is not None:
            with self._counters.changing(document_id):
                self.refresh_facts(document_id)
        return new

    def _insert(self, row: SignatureRow, verdict: Verdict, sender: str | None) -> bool:
        # Insert first and look only when nothing was inserted: a signature is almost always new.
        if not self._conn.execute(SIGNATURE_INSERT, row.values()).rowcount:
            existing = self._conn.execute(
                "SELECT document_id FROM signatures WHERE payload_sha256 = ? AND idx = ?",
                (row.payload_sha256, verdict.index),
            ).fetchone()
            if existing[0] is None and row.document_id is not None:
                self.attach_payload(row.payload_sha256, row.document_id)
            return False
        if verdict.signer_cert_sha256:
            unit = sender if row.belongs_to_sender else None
            self._conn.execute(CERTIFICATE_UPSERT, certificate_row(verdict, unit).values())
        return True

    def sender(self, document_id: str | None) -> str | None:
        if document_id is None:
            return None
        row = self._conn.execute("SELECT sender FROM documents WHERE document_id = ?", (document_id,)).fetchone()
        return row[0] if row else None

    def attach_payload(self, payload_sha256: str, document_id: str) -> None:
        """Give a signed file stored without a document (seen before its record) to that document."""
        rows = self._conn.execute(
            "SELECT s.idx, s.cert_sha256, s.signer_serial, s.kind, c.common_name, c.organisation FROM signatures s"
            " LEFT JOIN certificates c ON c.sha256 = s.cert_sha256"
            " WHERE s.payload_sha256 = ? AND s.document_id IS NULL",
            (payload_sha256,),
        ).fetchall()
        if not rows:
            return
        sender = self.sender(document_id)
        with self._counters.changing(document_id):
            for idx, cert, serial, kind, common_name, organisation in rows:
                identity = SignerIdentity(cert, serial, common_name, organisation, None, kind == "organisation")
                self._conn.execute(
                    "UPDATE signatures SET document_id = ?, belongs_to_sender = ? WHERE payload_sha256 = ? AND idx = ?",
                    (document_id, int_or_none(self._ownership.belongs(identity, sender)), payload_sha256, idx),
                )
            self.refresh_facts(document_id)

    def refresh_facts(self, document_id: str) -> None:
        """Recompute the document's signature facts from its stored signatures (inside ``changing``)."""
        rows = self._conn.execute(
            "SELECT payload_sha256, idx, indication, subindication, kind, covers_whole_file, belongs_to_sender,"
            " modification_permitted FROM signatures WHERE document_id = ?",
            (document_id,),
        ).fetchall()
        facts = signature_facts(
            SignatureFact(
                sha, idx, indication, sub, kind, _bool_or_none(covers), _bool_or_none(belongs), _bool_or_none(permitted)
            )
            for sha, idx, indication, sub, kind, covers, belongs, permitted in rows
        )
        assignments = ", ".join(f"{name} = ?" for name in FACT_COLUMNS)
        self._conn.execute(
            f"UPDATE documents SET {assignments} WHERE document_id = ?", (*fact_values(facts), document_id)
        )

    def rejudge(self, judged: list[tuple[int, Verdict]], judgement: Judgement) -> list[tuple[StoredSignature, bool]]:
        """Write new verdicts of stored signatures (by ``signatures.id``; one document's, or one signed file's), and
        their document's counters with them; a verdict whose indication or subindication changed is kept in
        ``verdict_changes``. Returns each row as it was before, and whether it changed.

        The rows are read again here, in the writing transaction: what another writer did since they were
        selected (a signed file given to its document) is what is compared and counted.
        """
        stored: dict[int, StoredSignature] = {}
        ids = [signature_id for signature_id, _ in judged]
        for first in range(0, len(ids), _IDS_PER_SELECT):
            chunk = ids[first : first + _IDS_PER_SELECT]
            rows = self._conn.execute(
                f"SELECT {STORED_SIGNATURE_SELECT} FROM signatures s WHERE s.id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            stored.update((row.id, row) for row in (StoredSignature(*values) for values in rows))
        by_document: dict[str | None, list[tuple[StoredSignature, Verdict]]] = {}
        for signature_id, verdict in judged:
            if signature_id in stored:
                by_document.setdefault(stored[signature_id].document_id, []).append((stored[signature_id], verdict))
        results: list[tuple[StoredSignature, bool]] = []
        for document_id, of_document in by_document.items():
            if document_id is None:
                results.extend(self._rejudge_rows(of_document, None, judgement))
                continue
            with self._counters.changing(document_id):
                results.extend(self._rejudge_rows(of_document, self.sender(document_id), judgement))
                self.refresh_facts(document_id)
        return results

    def _rejudge_rows(
        self, pairs: list[tuple[StoredSignature, Verdict]], sender: str | None, judgement: Judgement
    ) -> list[tuple[StoredSignature, bool]]:
        """Write the new verdicts of one document's rows (or of rows of no document); whether each changed.

        Each table's statements run in the rows' order, a run of the same statement in one ``executemany``
        (profiled: a statement per row cost more than the verification); no statement reads another's table.
        """
        updates: list[tuple[object, ...]] = []
        certificates: list[tuple[str, tuple[object, ...]]] = []
        changes: list[tuple[object, ...]] = []
        results: list[tuple[StoredSignature, bool]] = []
        for stored, verdict in pairs:
            belongs = self._ownership.belongs(signer_identity(verdict), sender)
            row = signature_row(verdict, stored.payload_sha256, "", 0, stored.document_id, belongs, judgement)
            updates.append(rejudge_values(row, stored.id))
            certificate = verdict.signer_cert_sha256
            if certificate:
                # The same signature judged again: counted once for its certificate, whatever the verdict.
                upsert = CERTIFICATE_REUSE if certificate == stored.cert_sha256 else CERTIFICATE_UPSERT
                certificates.append((upsert, certificate_row(verdict, sender if belongs else None).values()))
            if stored.cert_sha256 and stored.cert_sha256 != certificate:
                certificates.append((_CERTIFICATE_UNCOUNT, (stored.cert_sha256,)))
            changed = (row.indication, row.subindication) != (stored.indication, stored.subindication)
            if changed:
                changes.append(_change_values(stored, row, judgement))
            results.append((stored, changed))
        self._conn.executemany(SIGNATURE_REJUDGE, updates)
        for statement, run in groupby(certificates, key=itemgetter(0)):
            self._conn.executemany(statement, [values for _, values in run])
        self._conn.executemany(_VERDICT_CHANGE_INSERT, changes)
        return results

    def for_new_document(
        self,
        record: DocumentRecord,
        files: list[SignedFile],
        batch_id: int,
        batch_time: datetime,
        judgement: Judgement,
    ) -> NewSignatures:
        """The rows ``add`` would write for a new document's signed files (SHA-256, name, verdicts)."""
        sender = merged_values(None, record, batch_time)["sender"]
        sender = str(sender) if sender else None
        rows: list[SignatureRow] = []
        certificates: list[CertificateRow] = []
        facts: list[SignatureFact] = []
        for payload_sha256, item_name, verdicts in files:
            for verdict in verdicts:
                belongs = self._ownership.belongs(signer_identity(verdict), sender)
                rows.append(
                    signature_row(verdict, payload_sha256, item_name, batch_id, record.document_id, belongs, judgement)
                )
                if verdict.signer_cert_sha256:
                    certificates.append(certificate_row(verdict, sender if belongs else None))
                facts.append(signature_fact(verdict, payload_sha256, belongs))
        return NewSignatures(tuple(rows), tuple(certificates), signature_facts(facts))

    def insert_new(self, in_order: list[NewSignatures]) -> None:
        """Write new documents' signatures, in record order: their ids and each certificate's first unit
        come out as when stored one by one."""
        self._conn.executemany(SIGNATURE_INSERT, [row.values() for signatures in in_order for row in signatures.rows])
        self._conn.executemany(
            CERTIFICATE_UPSERT, [row.values() for signatures in in_order for row in signatures.certificates]
        )


_IDS_PER_SELECT = 900
"""Ids bound in one ``IN (…)``: below SQLite's oldest limit on bound parameters (999)."""
_CERTIFICATE_UNCOUNT = (
    "UPDATE certificates SET signature_count = CASE WHEN signature_count > 0 THEN signature_count - 1 ELSE 0 END"
    " WHERE sha256 = ?"
)
_VERDICT_CHANGE_INSERT = (
    "INSERT INTO verdict_changes (signature_id, document_id, payload_sha256, idx, changed_at,"
    " before_indication, before_subindication, before_reason, after_indication, after_subindication,"
    " after_reason, trust_before, trust_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _change_values(stored: StoredSignature, row: SignatureRow, judgement: Judgement) -> tuple[object, ...]:
    """The parameters of ``_VERDICT_CHANGE_INSERT``: the verdict as it was and as it is now."""
    return (
        stored.id,
        stored.document_id,
        stored.payload_sha256,
        stored.idx,
        judgement.judged_at,
        stored.indication,
        stored.subindication,
        stored.reason,
        row.indication,
        row.subindication,
        row.reason,
        stored.trust_fingerprint,
        judgement.trust_fingerprint,
    )


def _bool_or_none(value: object) -> bool | None:
    return None if value is None else bool(value)
