"""What the store holds of one batch, read back after its commit: what logs, ingest's line and receipts say.

A batch may name a document twice or name one stored before: what it *read* is not what it *stored*, and people
are told what was stored (issue 17).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from docflow.i18n import ngettext

__all__ = ["StoredCounts", "stored_counts"]


@dataclass(frozen=True)
class StoredCounts:
    """The documents a batch recorded (new) or changed (updated), and the signature rows it added."""

    new_documents: int = 0
    updated_documents: int = 0
    signatures: int = 0
    """Signature rows this batch added (a signed file stored before adds none)."""

    @property
    def documents(self) -> int:
        return self.new_documents + self.updated_documents

    def text(self) -> str:
        """``1 document stored (1 new, 0 updated), 2 signatures``: what ingest's line and the watcher's log say."""
        documents = ngettext(
            "{count} document stored ({new} new, {updated} updated)",
            "{count} documents stored ({new} new, {updated} updated)",
            self.documents,
        ).format(count=self.documents, new=self.new_documents, updated=self.updated_documents)
        signatures = ngettext("{count} signature", "{count} signatures", self.signatures).format(count=self.signatures)
        return f"{documents}, {signatures}"


def stored_counts(conn: sqlite3.Connection, batch_id: int) -> StoredCounts:
    """What the store holds of a batch (a document named twice counts once): what logs and receipts say."""
    (touched,) = conn.execute(
        "SELECT count(DISTINCT document_id) FROM document_sources WHERE batch_id = ?", (batch_id,)
    ).fetchone()
    (new,) = conn.execute("SELECT count(*) FROM documents WHERE first_batch_id = ?", (batch_id,)).fetchone()
    (signatures,) = conn.execute("SELECT count(*) FROM signatures WHERE batch_id = ?", (batch_id,)).fetchone()
    return StoredCounts(int(new), max(0, int(touched) - int(new)), int(signatures))
