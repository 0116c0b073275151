"""Take one batch into the store: hash it, stream its items, verify, commit once.

A batch is identified by its SHA-256, recorded in the same transaction as everything
read from it, so a batch is either wholly in the store or not at all, and a known hash
is a duplicate that changes nothing. Files are streamed item by item; no batch is held
in memory whole.
"""

from __future__ import annotations

import hashlib
import logging
import os
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from docflow.batch import BatchUnreadable, Limits, read_batch
from docflow.records import BusinessType, DocumentRecord, RejectedItem, SignedPayload, Source, StatusEvent
from docflow.store import BatchRow, Store
from signatures import SignerKind, TrustStore, Verdict, verify_cms, verify_pdf

__all__ = ["BatchOutcome", "IngestOptions", "ingest_batch", "batch_sha256", "ProgressCallback"]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]
"""Called with the number of items processed so far in the current batch."""

_CHUNK = 1 << 20
_NO_TRUST = TrustStore.from_objects([])
"""Without a trust store every signature is reported untrusted, and still recorded."""


@dataclass(frozen=True)
class IngestOptions:
    """What the readers need besides the path (from docflow.toml, or the readers' defaults)."""

    limits: Limits = Limits()
    columns: Mapping[str, str] | None = None
    """Canonical register column → the header this province's export uses; None for the usual headers."""
    kinds: Mapping[str, SignerKind] = field(default_factory=dict)
    """Signer certificate SHA-256 → person/organisation, overriding what the certificate suggests."""


@dataclass(frozen=True)
class BatchOutcome:
    """What happened to one batch; ``to_json`` is the ``docflow ingest --json`` line."""

    file: str
    sha256: str
    outcome: str
    """``ingested``, ``duplicate`` or ``rejected``."""
    documents: int = 0
    signatures: int = 0
    rejected_items: int = 0
    reason: str | None = None
    previous_outcome: str | None = None
    """For a duplicate: what happened to the batch the first time (the watcher files it accordingly)."""

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "outcome": self.outcome,
            "documents": self.documents,
            "signatures": self.signatures,
            "rejected_items": self.rejected_items,
            "reason": self.reason,
        }


class _AlreadyStored(Exception):
    pass


def batch_sha256(path: Path) -> str:
    """A file's SHA-256; for a folder, the SHA-256 of its sorted (relative path, file SHA-256) pairs."""
    if not path.is_dir():
        return _file_sha256(path)
    digest = hashlib.sha256()
    for relative, file_path in _folder_files(path):
        digest.update(f"{relative}\0{_file_sha256(file_path)}\n".encode())
    return digest.hexdigest()


def ingest_batch(
    path: Path,
    store: Store,
    trust: TrustStore | None,
    options: IngestOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    received_at: datetime | None = None,
) -> BatchOutcome:
    """Ingest one batch exactly once. Raises only for bugs (the transaction is rolled back)."""
    options = options or IngestOptions()
    try:
        sha256 = batch_sha256(path)
        size, batch_time = _size_and_time(path)
    except OSError as error:
        return BatchOutcome(path.name, "", "rejected", reason=f"cannot read the batch: {error.strerror or error}")
    previous = store.batch_by_sha256(sha256)
    if previous is not None:
        return _duplicate(path, previous)
    row = BatchRow(
        file_name=path.name,
        sha256=sha256,
        size_bytes=size,
        kind=_kind(path),
        received_at=_iso(received_at or _now()),
        processed_at=_iso(_now()),
        outcome="ingested",
        archived_as=f"{sha256[:16]}-{path.name}",
    )
    try:
        with store.transaction():
            run = _ingest_items(path, store, trust or _NO_TRUST, options, row, batch_time, progress)
    except BatchUnreadable as unreadable:
        return _reject(path, store, row, str(unreadable))
    except _AlreadyStored:
        # Another docflow process took the same batch between our look-up and our lock.
        return _duplicate(path, store.batch_by_sha256(sha256) or row)
    return BatchOutcome(path.name, sha256, "ingested", run.documents, run.signatures, run.rejected_items)


def _ingest_items(path: Path, store: Store, trust: TrustStore, options: IngestOptions, row: BatchRow,
                  batch_time: datetime, progress: ProgressCallback | None) -> _BatchRun:
    if store.batch_by_sha256(row.sha256) is not None:
        raise _AlreadyStored
    run = _BatchRun(store, trust, options.kinds, store.record_batch(row), batch_time)
    for item in read_batch(path, options.limits, options.columns):
        run.take(item)
        run.items += 1
        if progress is not None:
            progress(run.items)
    store.finish_batch(run.batch_id, run.documents, run.signatures, run.rejected_items)
    return run


@dataclass
class _BatchRun:
    """One batch being written: where it goes, how to verify, and what it held so far."""

    store: Store
    trust: TrustStore
    kinds: Mapping[str, SignerKind]
    batch_id: int
    batch_time: datetime
    documents: int = 0
    signatures: int = 0
    rejected_items: int = 0
    items: int = 0
    named_payloads: dict[str, str] = field(default_factory=dict)
    """Payload name → document id, from records that name files not yet seen in this batch."""
    bare_payloads: dict[str, str] = field(default_factory=dict)
    """Payload name → SHA-256, of signed files stored before any record named them."""

    def take(self, item: object) -> None:
        if isinstance(item, DocumentRecord):
            self._record(item)
        elif isinstance(item, StatusEvent):
            self.store.upsert_unit(item.reporting_unit, None, "edxml")
            self.store.add_status_event(item, self.batch_id)
        elif isinstance(item, SignedPayload):
            # A signed file no record names is still evidence of signing: its signatures are
            # kept (document_id NULL) and counted for no unit unless a later record names it.
            document_id = self.named_payloads.get(item.name)
            payload_sha256 = self._payload(item, document_id)
            if document_id is None and payload_sha256:
                self.bare_payloads[item.name] = payload_sha256
        elif isinstance(item, RejectedItem):
            self._reject(item)
        else:
            self._reject(RejectedItem(str(item)[:80], "the reader returned something docflow does not know"))

    def _record(self, record: DocumentRecord) -> None:
        source = "edxml" if record.source is Source.EDXML else "register"
        if record.sender:
            self.store.upsert_unit(record.sender, record.sender_name, source)
        names = dict(record.recipient_names)
        for unit in (*record.recipients, *([record.reporting_unit] if record.reporting_unit else [])):
            self.store.upsert_unit(unit, names.get(unit), source)
        self.store.merge_document(record, self.batch_id, self.batch_time)
        self.documents += 1
        # A revocation's own attachment is the notice, not the revoked document.
        document_id = None if record.business_type is BusinessType.REVOKE else record.document_id
        for payload in record.payloads:
            self._payload(payload, document_id)
        if document_id is None:
            return
        # A register row names its signed files; the readers yield those files as bare payloads.
        for name in record.payload_names:
            if name in self.bare_payloads:
                self.store.attach_payload(self.bare_payloads[name], document_id)
            else:
                self.named_payloads[name] = document_id

    def _payload(self, payload: SignedPayload, document_id: str | None) -> str | None:
        """Verify and record one signed file; returns its SHA-256 (None when it could not be verified)."""
        try:
            verdicts = _verify(payload, self.trust, self.kinds)
        except Exception as error:  # noqa: BLE001 - one file the verifier chokes on must not sink the batch
            log.warning("verifier failed on %s: %s", payload.name, "".join(traceback.format_exception_only(error)).strip())
            self._reject(RejectedItem(payload.name, f"docflow could not verify this signed file "
                                      f"({type(error).__name__}); send it to the docflow administrator with this batch"))
            return None
        payload_sha256 = hashlib.sha256(payload.data).hexdigest()
        if not verdicts:
            self._reject(RejectedItem(payload.name, "the file carries no digital signature"))
        for verdict in verdicts:
            self.store.add_signature(verdict, payload_sha256=payload_sha256, item_name=payload.name,
                                     batch_id=self.batch_id, document_id=document_id)
            self.signatures += 1
        return payload_sha256

    def _reject(self, item: RejectedItem) -> None:
        self.store.add_rejected_item(self.batch_id, item)
        self.rejected_items += 1


def _verify(payload: SignedPayload, trust: TrustStore, kinds: Mapping[str, SignerKind]) -> list[Verdict]:
    if payload.kind == "pdf":
        return list(verify_pdf(payload.data, trust=trust, kinds=kinds))
    return list(verify_cms(payload.data, content=payload.content, trust=trust, kinds=kinds))


def _reject(path: Path, store: Store, row: BatchRow, reason: str) -> BatchOutcome:
    with store.transaction():
        store.record_batch(BatchRow(**{**row.__dict__, "outcome": "rejected", "reason": reason}))
    return BatchOutcome(path.name, row.sha256, "rejected", reason=reason)


def _duplicate(path: Path, previous: BatchRow) -> BatchOutcome:
    when = previous.processed_at[:19].replace("T", " ")
    reason = f"already processed on {when} as {previous.file_name} ({previous.outcome})"
    if previous.reason:
        reason += f": {previous.reason}"
    return BatchOutcome(path.name, previous.sha256, "duplicate", reason=reason, previous_outcome=previous.outcome)


def _folder_files(folder: Path) -> list[tuple[str, Path]]:
    files = [
        (Path(root, name).relative_to(folder).as_posix(), Path(root, name))
        for root, _dirs, names in os.walk(folder)
        for name in names
    ]
    return sorted(files)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _size_and_time(path: Path) -> tuple[int, datetime]:
    """Total size, and the newest mtime: a time that stays the same when a batch is retried."""
    paths = [file_path for _, file_path in _folder_files(path)] if path.is_dir() else [path]
    stats = [file_path.stat() for file_path in paths] or [path.stat()]
    newest = max(stat.st_mtime for stat in stats)
    return sum(stat.st_size for stat in stats), datetime.fromtimestamp(newest, timezone.utc)


def _kind(path: Path) -> str:
    if path.is_dir():
        return "folder"
    return "zip" if path.suffix.lower() == ".zip" else "file"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
