"""``[watch] log_file``: one JSON line per filed batch and per finished re-verification, for a log shipper (times
ISO 8601 with the offset)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from docflow.ingest.reverify import ReverifyResult
from docflow.times import for_machines
from docflow.watch.receipt import Receipt

__all__ = ["EventLog"]

log = logging.getLogger("docflow.watch.watcher")


class EventLog:
    """Appends one line per event; a line that cannot be written is logged, never fatal to the batch."""

    def __init__(self, path: Path | None, inbox: Path) -> None:
        self._path = path
        self._inbox = inbox

    def batch_filed(self, receipt: Receipt, filed_as: Path) -> None:
        if self._path is None:
            return
        event = {
            "time": for_machines(datetime.now(UTC)),
            "event": "batch_filed",
            "batch": receipt.batch,
            "sha256": receipt.sha256,
            "outcome": receipt.outcome,
            "documents": receipt.counts.documents,
            "new_documents": receipt.counts.new_documents,
            "updated_documents": receipt.counts.updated_documents,
            "signatures": receipt.counts.signatures,
            "rejected_items": len(receipt.rejected_items),
            "signatures_not_passed": len(receipt.signatures_not_passed),
            "received_at": for_machines(receipt.received_at),
            "archived_as": self._shown(filed_as),
        }
        self._append(event)

    def reverified(self, totals: ReverifyResult, trust_fingerprint: str) -> None:
        """The stored signatures were judged again after the trust directory changed (``watch.trust_watch``)."""
        event = {
            "time": for_machines(datetime.now(UTC)),
            "event": "reverified",
            "checked": totals.checked,
            "changed": totals.changed,
            "unchanged": totals.unchanged,
            "unavailable": totals.unavailable,
            "trust_fingerprint": trust_fingerprint,
        }
        self._append(event)

    def _append(self, event: dict[str, object]) -> None:
        if self._path is None:
            return
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with self._path.open("a", encoding="utf-8") as stream:
                stream.write(json.dumps(event, ensure_ascii=False) + "\n")
        except OSError as error:
            log.error("cannot write the log file %s: %s", self._path, error.strerror or error)

    def _shown(self, filed_as: Path) -> str:
        try:
            return filed_as.relative_to(self._inbox).as_posix()
        except ValueError:
            return str(filed_as)
