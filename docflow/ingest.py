"""Take one batch into the store: hash it, stream its items, verify, commit once.

A batch is identified by its SHA-256, recorded in the same transaction as everything
read from it, so a batch is either wholly in the store or not at all, and a known hash
is a duplicate that changes nothing. Files are streamed item by item; no batch is held
in memory whole.

A batch longer than ``IngestOptions.chunk_items`` (a register of millions of rows) is
committed in chunks instead, each with the batch row's count of items committed
(``items_done``, outcome ``in progress``): a run that stops between chunks is resumed
after that many items when the batch is taken again, so each item is still counted once
(docs/reliability.md, "Large registers").
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from docflow.batch import BatchUnreadable, Limits, read_batch
from docflow.batch_identity import BatchChanged, BatchIdentity, NotABatch, take_identity
from docflow.names import readable_name
from docflow.records import BatchItem, BusinessType, DocumentRecord, RejectedItem, SignedPayload, Source, StatusEvent
from docflow.signature_rows import NewSignatures
from docflow.store import BatchRow, Store, StoreBusy
from docflow.verifier import Checked, Verifier, VerifyFailed
from signatures import SignerKind, TrustStore, Verdict

__all__ = ["BatchOutcome", "IngestOptions", "ingest_batch", "batch_sha256", "ProgressCallback", "BatchChanged"]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]
"""Called with the number of items processed so far in the current batch."""

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
    workers: int = 1
    """Processes verifying signatures; 1 verifies in this process. Whatever the number, results are
    written by this process in batch order, so the store ends up the same."""
    chunk_items: int = 100_000
    """Items (register rows, packages, files) after which a long batch commits what it has read and goes
    on in a new transaction: bounds the write-ahead log and how long other writers wait for the lock."""


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
    return take_identity(path).sha256


def ingest_batch(
    path: Path,
    store: Store,
    trust: TrustStore | None,
    options: IngestOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    received_at: datetime | None = None,
    attempts: int = 3,
) -> BatchOutcome:
    """Ingest one batch exactly once. Raises StoreBusy (another docflow holds the store or this batch),
    StoreReplaced, ``BatchChanged`` when the batch changed while it was read ``attempts`` times in a row
    (nothing of it is stored), and otherwise only for bugs; the transaction (the current chunk) is rolled back."""
    options = options or IngestOptions()
    for attempt in range(1, attempts + 1):
        try:
            return _ingest_as_read(path, store, trust, options, progress, received_at)
        except BatchChanged as changed:
            log.info("%s: %s; reading it again", readable_name(path.name), changed.reason)
            if attempt == attempts:
                raise BatchChanged(f"{changed.reason}, {attempts} times in a row; nothing of it was stored — "
                                   "ingest it again once it is completely copied") from changed
    raise ValueError(f"attempts must be at least 1, not {attempts}")


def _ingest_as_read(path: Path, store: Store, trust: TrustStore | None, options: IngestOptions,
                    progress: ProgressCallback | None, received_at: datetime | None) -> BatchOutcome:
    """One try: what is recorded is what was read, or ``BatchChanged`` and nothing is (a batch committed in
    chunks keeps the chunks committed before the change, as an ``in progress`` row of the old hash)."""
    name = readable_name(path.name)
    try:
        identity = take_identity(path)
    except NotABatch as refused:
        return BatchOutcome(name, "", "rejected", reason=refused.reason)
    except OSError as error:
        return BatchOutcome(name, "", "rejected", reason=f"cannot read the batch: {error.strerror or error}")
    sha256, size, batch_time = identity.sha256, identity.size, identity.newest
    previous = store.batch_by_sha256(sha256)
    if previous is not None and previous.outcome != IN_PROGRESS:
        identity.verify()  # the file filed away as this duplicate must be the one hashed
        return _duplicate(path, previous)
    row = BatchRow(
        file_name=name,
        sha256=sha256,
        size_bytes=size,
        kind="folder" if identity.is_folder else _kind(path),
        received_at=_iso(received_at or _now()),
        processed_at=_iso(_now()),
        outcome="ingested",
        archived_as=f"{sha256[:16]}-{name}",
    )
    try:
        with store.transaction():
            run = _ingest_items(identity, store, trust or _NO_TRUST, options, row, batch_time, progress)
            identity.verify()
    except BatchUnreadable as unreadable:
        return _reject(identity, store, row, str(unreadable))
    except _AlreadyStored:
        # Another docflow process took the same batch between our look-up and our lock.
        identity.verify()
        return _duplicate(path, store.batch_by_sha256(sha256) or row)
    return BatchOutcome(name, sha256, "ingested", run.documents, run.signatures, run.rejected_items)


def _ingest_items(identity: BatchIdentity, store: Store, trust: TrustStore, options: IngestOptions, row: BatchRow,
                  batch_time: datetime, progress: ProgressCallback | None) -> _BatchRun:
    resumed = _resumable(store, row.sha256)
    _ACTIVE.add(row.sha256)
    try:
        with Verifier(trust, options.kinds, options.workers) as verifier:
            if resumed is None:
                run = _BatchRun(store, verifier, store.record_batch(row), batch_time)
            else:
                run = _BatchRun(store, verifier, resumed.id or 0, batch_time, resumed.documents, resumed.signatures,
                                resumed.rejected_items, resumed.items_done or 0)
                log.info("%s: resuming after the %s items committed before", row.file_name, f"{run.items:,}")
            chunks = _Chunks(store, options.chunk_items, run.items)
            # Items committed by an earlier run are read again (the same bytes give the same items) but not taken.
            items = itertools.islice(read_batch(identity.path, options.limits, options.columns, identity),
                                     run.items, None)
            for item in verifier.ahead(_readable_items(items)):
                run.take(item)
                run.items += 1
                if progress is not None:
                    progress(run.items)
                chunks.after_item(run)
            run.flush()
    finally:
        _ACTIVE.discard(row.sha256)
    store.finish_batch(run.batch_id, run.documents, run.signatures, run.rejected_items)
    return run


IN_PROGRESS = "in progress"
"""``batches.outcome`` of a batch committed in part (``IngestOptions.chunk_items``)."""

_OWNER = f"{socket.gethostname()}:{os.getpid()}"
_ACTIVE: set[str] = set()
"""SHA-256 of the batches this process is reading now: its own ``in progress`` rows that are not abandoned."""
_ABANDONED_AFTER_SECONDS = 600
"""An ``in progress`` batch whose last chunk is older than this is taken over, whoever holds it."""


def _resumable(store: Store, sha256: str) -> BatchRow | None:
    """Inside the batch's first transaction: the batch's ``in progress`` row, now claimed by this process, to be
    resumed; None for a new batch. _AlreadyStored when it is complete; StoreBusy while another process reads it."""
    existing = store.batch_by_sha256(sha256)
    if existing is None:
        return None
    if existing.outcome != IN_PROGRESS:
        raise _AlreadyStored
    if _is_being_read(existing):
        raise StoreBusy(f"another docflow ({existing.owner}) is reading this batch ({existing.items_done or 0:,} "
                        "items committed so far); it stays where it is: try again later")
    store.conn.execute("UPDATE batches SET owner = ? WHERE id = ?", (_OWNER, existing.id))
    return existing


def _is_being_read(batch: BatchRow) -> bool:
    """Whether the process named in an ``in progress`` row is still reading it (the row's last chunk is recent
    and, on this machine, that process is alive and, if it is this one, reading it now)."""
    try:
        age = (_now() - datetime.fromisoformat(batch.processed_at)).total_seconds()
    except ValueError:
        return False
    host, _, pid_text = (batch.owner or "").rpartition(":")
    if age > _ABANDONED_AFTER_SECONDS or not pid_text.isdigit():
        return False
    if host != socket.gethostname():
        return True  # another machine on a shared store: only the clock can tell
    if int(pid_text) == os.getpid():
        return batch.sha256 in _ACTIVE
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class _Chunks:
    """Commits a long batch every ``size`` items, where nothing read is still waiting to be joined."""

    store: Store
    size: int
    committed: int
    """Items committed so far (by this run or the runs it resumes)."""

    def after_item(self, run: _BatchRun) -> None:
        # A register row naming a signed file waits for that file, and a bare signed file for its row: what joins
        # them lives in this run only, so no chunk ends while either is held (such a batch commits once, at the end).
        if run.items - self.committed < self.size or run.named_payloads or run.bare_payloads:
            return
        run.flush()
        self.store.batch_in_progress(run.batch_id, run.items, _OWNER, _iso(_now()),
                                     (run.documents, run.signatures, run.rejected_items))
        self.store.commit_and_begin()
        self.committed = run.items
        # The compare of compare-and-set: the next chunk is written only while the row still says what this run
        # committed. Another process takes a batch over only when this one looks gone; then this run stops.
        state = self.store.conn.execute("SELECT items_done, owner FROM batches WHERE id = ?",
                                        (run.batch_id,)).fetchone()
        if tuple(state or ()) != (run.items, _OWNER):
            raise StoreBusy("another docflow took this batch over while it was being read; it stays where it is: "
                            "try again later")


@dataclass
class _BatchRun:
    """One batch being written: where it goes, how to verify, and what it held so far."""

    store: Store
    verifier: Verifier
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
    pending: list[DocumentRecord] = field(default_factory=list)
    """New documents waiting to be merged together (``flush``): register rows, and edXML documents whose
    signed files are new too; any other item flushes them first."""
    pending_signatures: dict[str, NewSignatures] = field(default_factory=dict)
    """Document id → its signatures, for the pending edXML documents."""
    pending_ids: set[str] = field(default_factory=set)
    """Document ids of the pending records."""
    pending_files: set[str] = field(default_factory=set)
    """SHA-256 of the pending documents' signed files."""
    units_seen: set[str] = field(default_factory=set)
    """Codes already upserted in this batch: upserting one again without a name changes nothing."""
    units_named: set[str] = field(default_factory=set)
    """...and those among them that have a name by now: upserting one again changes nothing at all."""

    def take(self, item: object) -> None:
        if _mergeable_in_bulk(item):
            self._units_of(item)  # type: ignore[arg-type]
            self._pend(item)  # type: ignore[arg-type]
            return
        if isinstance(item, DocumentRecord) and _new_signed_candidate(item):
            self._signed_record(item)
            return
        self.flush()
        if isinstance(item, DocumentRecord):
            self._record(item)
        elif isinstance(item, StatusEvent):
            self._unit(item.reporting_unit, None, "edxml")
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

    def flush(self) -> None:
        """Merge the pending records: new documents in bulk, the rest one by one, in order."""
        if not self.pending:
            return
        records, self.pending = self.pending, []
        signed, self.pending_signatures = self.pending_signatures, {}
        self.pending_ids.clear()
        self.pending_files.clear()
        for record in self.store.merge_new_documents(records, self.batch_id, self.batch_time, signed):
            self.store.merge_document(record, self.batch_id, self.batch_time)
        for record in records:
            self._join_payload_names(record, record.document_id)
        self.documents += len(records)

    def _units_of(self, record: DocumentRecord) -> None:
        source = "edxml" if record.source is Source.EDXML else "register"
        if record.sender:
            self._unit(record.sender, record.sender_name, source)
        names = dict(record.recipient_names)
        for unit in (*record.recipients, *([record.reporting_unit] if record.reporting_unit else [])):
            self._unit(unit, names.get(unit), source)

    def _unit(self, code: str, name: str | None, source: str) -> None:
        if code in self.units_named or (name is None and code in self.units_seen):
            return
        self.store.upsert_unit(code, name, source)
        self.units_seen.add(code)
        if name:
            self.units_named.add(code)

    def _pend(self, record: DocumentRecord, signatures: NewSignatures | None = None) -> None:
        self.pending.append(record)
        self.pending_ids.add(record.document_id)
        if signatures is not None:
            self.pending_signatures[record.document_id] = signatures
        if len(self.pending) >= _BULK_ROWS:
            self.flush()

    def _signed_record(self, record: DocumentRecord) -> None:
        """An edXML document: merged in bulk when neither it nor its signed files are stored or pending yet.

        Its units are upserted and its signatures' rows made now, as merging it on its own would,
        so that the outcome does not depend on where the bulk merges fall.
        """
        self._units_of(record)
        checked = [self.verifier.check(payload) for payload in record.payloads]
        hashes = [result.sha256 for result in checked]
        if (record.document_id in self.pending_ids
                or len(set(hashes)) < len(hashes) or self.pending_files.intersection(hashes)
                or not self.store.is_unseen(record.document_id, hashes)):
            self.flush()
            self._record(record, checked)
            return
        files = [(result.sha256, payload.name, verdicts) for payload, result in zip(record.payloads, checked)
                 if (verdicts := self._verdicts(payload, result)) is not None]
        self.signatures += sum(len(verdicts) for _, _, verdicts in files)
        self.pending_files.update(hashes)
        signatures = self.store.new_document_signatures(record, files, self.batch_id, self.batch_time)
        # Pending without its signed files' bytes: 5,000 waiting PDFs would hold hundreds of megabytes.
        self._pend(dataclasses.replace(record, payloads=()), signatures)

    def _record(self, record: DocumentRecord, checked: list[Checked] | None = None) -> None:
        """Merge one record on its own; ``checked``: its signed files' results, when already fetched."""
        self._units_of(record)
        # One counter difference for the document, its signed files and the files it names, not one each.
        with self.store.changing(record.document_id):
            self.store.merge_document(record, self.batch_id, self.batch_time)
            self.documents += 1
            # A revocation's own attachment is the notice, not the revoked document.
            document_id = None if record.business_type is BusinessType.REVOKE else record.document_id
            for index, payload in enumerate(record.payloads):
                self._payload(payload, document_id, checked[index] if checked is not None else None)
            self._join_payload_names(record, document_id)

    def _join_payload_names(self, record: DocumentRecord, document_id: str | None) -> None:
        if document_id is None:
            return
        # A register row names its signed files; the readers yield those files as bare payloads.
        for name in record.payload_names:
            if name in self.bare_payloads:
                self.store.attach_payload(self.bare_payloads[name], document_id)
            else:
                self.named_payloads[name] = document_id

    def _payload(self, payload: SignedPayload, document_id: str | None, checked: Checked | None = None) -> str | None:
        """Record one signed file's verdicts; returns its SHA-256 (None when it could not be verified)."""
        checked = checked if checked is not None else self.verifier.check(payload)
        verdicts = self._verdicts(payload, checked)
        if verdicts is None:
            return None
        # What was stored: the same signed file attached again (or stored by an earlier batch) adds no row.
        self.signatures += self.store.add_signatures(verdicts, payload_sha256=checked.sha256, item_name=payload.name,
                                                     batch_id=self.batch_id, document_id=document_id)
        return checked.sha256

    def _verdicts(self, payload: SignedPayload, checked: Checked) -> list[Verdict] | None:
        """A signed file's verdicts; None when it could not be verified. Either problem is a rejected item."""
        if isinstance(checked.verdicts, VerifyFailed):
            log.warning("verifier failed on %s: %s", payload.name, checked.verdicts.detail)
            self._reject(RejectedItem(payload.name, f"docflow could not verify this signed file "
                                      f"({checked.verdicts.error_type}); send it to the docflow administrator "
                                      "with this batch"))
            return None
        if not checked.verdicts:
            self._reject(RejectedItem(payload.name, "the file carries no digital signature"))
        return checked.verdicts

    def _reject(self, item: RejectedItem) -> None:
        self.store.add_rejected_item(self.batch_id, item)
        self.rejected_items += 1


_BULK_ROWS = 5_000
"""Records (register rows, new edXML documents) merged per ``Store.merge_new_documents`` call: bounds the
memory a flush holds."""


def _new_signed_candidate(record: DocumentRecord) -> bool:
    """An edXML document that may go to the bulk merge, if it and its signed files turn out to be new."""
    return (record.source is Source.EDXML and record.business_type is BusinessType.NEW and not record.replaces
            and not record.payload_names)


def _mergeable_in_bulk(item: object) -> bool:
    """A register row: no signed files of its own, no revocation or replacement to order around."""
    return (isinstance(item, DocumentRecord) and item.source is Source.REGISTER and not item.payloads
            and item.business_type is BusinessType.NEW and not item.replaces)


def _reject(identity: BatchIdentity, store: Store, row: BatchRow, reason: str) -> BatchOutcome:
    with store.transaction():
        store.record_batch(BatchRow(**{**row.__dict__, "outcome": "rejected", "reason": reason}))
        identity.verify()
    return BatchOutcome(row.file_name, row.sha256, "rejected", reason=reason)


def _duplicate(path: Path, previous: BatchRow) -> BatchOutcome:
    when = previous.processed_at[:19].replace("T", " ")
    reason = f"already processed on {when} as {previous.file_name} ({previous.outcome})"
    if previous.reason:
        reason += f": {previous.reason}"
    return BatchOutcome(readable_name(path.name), previous.sha256, "duplicate", reason=reason,
                        previous_outcome=previous.outcome)


def _readable_items(items: Iterator[BatchItem]) -> Iterator[BatchItem]:
    """The items with names the store can hold: a file name that is not UTF-8 (a folder's member, or a single
    file's own name in its rows' labels) is written with ``\\xNN`` escapes (``docflow.names``)."""
    for item in items:
        if isinstance(item, SignedPayload):
            if not _is_text(item.name):
                item = dataclasses.replace(item, name=readable_name(item.name))
        elif isinstance(item, DocumentRecord):
            if not (_is_text(item.item_name) and all(map(_is_text, item.payload_names))):
                item = dataclasses.replace(item, item_name=readable_name(item.item_name),
                                           payload_names=tuple(map(readable_name, item.payload_names)))
        elif isinstance(item, (RejectedItem, StatusEvent)) and not _is_text(item.item_name):
            item = dataclasses.replace(item, item_name=readable_name(item.item_name))
        yield item


def _is_text(name: str) -> bool:
    return name.isascii() or readable_name(name) is name


def _kind(path: Path) -> str:
    if path.is_dir():
        return "folder"
    return "zip" if path.suffix.lower() == ".zip" else "file"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
