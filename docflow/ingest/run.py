"""Take one batch into the store: hash it, stream its items, verify, commit once.

A batch is identified by its SHA-256, recorded in the same transaction as everything
read from it, so a batch is either wholly in the store or not at all, and a known hash
is a duplicate that changes nothing. Files are streamed item by item; no batch is held
in memory whole. A long batch is committed in chunks and resumed where it stopped
(``docflow.ingest.chunks``).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from docflow.ingest.batch_run import BatchRun, readable_items
from docflow.ingest.chunks import IN_PROGRESS, AlreadyStored, Chunks, iso, now, reading, resumable
from docflow.ingest.outcome import BatchOutcome, BatchOutcomeKind
from docflow.ingest.verifier import Verifier
from docflow.readers.archive import BatchUnreadable
from docflow.readers.batch import read_batch
from docflow.readers.identity import BatchChanged, BatchIdentity, NotABatch, take_identity
from docflow.readers.limits import Limits
from docflow.readers.names import readable_name
from docflow.store.core import BatchRow, Store
from docflow.store.errors import StoreConflict
from docflow.times import for_people
from signatures import SignerKind, TrustStore

__all__ = [
    "BatchOutcome",
    "BatchOutcomeKind",
    "IngestOptions",
    "ingest_batch",
    "batch_sha256",
    "ProgressCallback",
    "BatchChanged",
    "IN_PROGRESS",
]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]
"""Called with the number of items processed so far in the current batch."""

_NO_TRUST = TrustStore.from_objects([])
_CONFLICT_TRIES = 8
"""Times a batch is taken again after a write conflict with another docflow on PostgreSQL before giving up."""
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


class BatchKind(StrEnum):
    """``batches.kind``: what container the batch came in."""

    FOLDER = "folder"
    ZIP = "zip"
    FILE = "file"


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
    conflicts = 0
    attempt = 0
    while attempt < attempts:
        attempt += 1
        try:
            return _ingest_as_read(path, store, trust, options, progress, received_at)
        except StoreConflict:
            # PostgreSQL: another writer took the same new document or batch at the same moment. Taken again,
            # the batch sees what the other committed (a duplicate, or documents to merge into).
            conflicts += 1
            if conflicts >= _CONFLICT_TRIES:
                raise
            log.info(
                "%s: another docflow wrote the same batch or documents at the same moment; taking it again", path.name
            )
            attempt -= 1
        except BatchChanged as changed:
            log.info("%s: %s; reading it again", readable_name(path.name), changed.reason)
            if attempt == attempts:
                raise BatchChanged(
                    f"{changed.reason}, {attempts} times in a row; nothing of it was stored — "
                    "ingest it again once it is completely copied"
                ) from changed
    raise ValueError(f"attempts must be at least 1, not {attempts}")


def _ingest_as_read(
    path: Path,
    store: Store,
    trust: TrustStore | None,
    options: IngestOptions,
    progress: ProgressCallback | None,
    received_at: datetime | None,
) -> BatchOutcome:
    """One try: what is recorded is what was read, or ``BatchChanged`` and nothing is (a batch committed in
    chunks keeps the chunks committed before the change, as an ``in progress`` row of the old hash)."""
    name = readable_name(path.name)
    try:
        identity = take_identity(path)
    except NotABatch as refused:
        return BatchOutcome(name, "", BatchOutcomeKind.REJECTED, reason=refused.reason)
    except OSError as error:
        reason = f"cannot read the batch: {error.strerror or error}"
        return BatchOutcome(name, "", BatchOutcomeKind.REJECTED, reason=reason)
    sha256, size, batch_time = identity.sha256, identity.size, identity.newest
    previous = store.batch_by_sha256(sha256)
    if previous is not None and previous.outcome != IN_PROGRESS:
        identity.verify()  # the file filed away as this duplicate must be the one hashed
        return _duplicate(path, previous)
    row = BatchRow(
        file_name=name,
        sha256=sha256,
        size_bytes=size,
        kind=BatchKind.FOLDER if identity.is_folder else _kind(path),
        received_at=iso(received_at or now()),
        processed_at=iso(now()),
        outcome=BatchOutcomeKind.INGESTED,
        archived_as=f"{sha256[:16]}-{name}",
    )
    store.record_trust_state(trust or _NO_TRUST)
    try:
        with store.transaction():
            run = _ingest_items(identity, store, trust or _NO_TRUST, options, row, batch_time, progress)
            identity.verify()
    except BatchUnreadable as unreadable:
        return _reject(identity, store, row, str(unreadable))
    except AlreadyStored:
        # Another docflow process took the same batch between our look-up and our lock.
        identity.verify()
        return _duplicate(path, store.batch_by_sha256(sha256) or row)
    return BatchOutcome(name, sha256, BatchOutcomeKind.INGESTED, run.documents, run.signatures, run.rejected_items)


def _ingest_items(
    identity: BatchIdentity,
    store: Store,
    trust: TrustStore,
    options: IngestOptions,
    row: BatchRow,
    batch_time: datetime,
    progress: ProgressCallback | None,
) -> BatchRun:
    resumed = resumable(store, row.sha256)
    with reading(row.sha256), Verifier(trust, options.kinds, options.workers) as verifier:
        if resumed is None:
            run = BatchRun(store, verifier, store.record_batch(row), batch_time)
        else:
            run = BatchRun(
                store,
                verifier,
                resumed.id or 0,
                batch_time,
                resumed.documents,
                resumed.signatures,
                resumed.rejected_items,
                resumed.items_done or 0,
            )
            log.info("%s: resuming after the %s items committed before", row.file_name, f"{run.items:,}")
        chunks = Chunks(store, options.chunk_items, run.items)
        # Items committed by an earlier run are read again (the same bytes give the same items) but not taken.
        items = itertools.islice(read_batch(identity.path, options.limits, options.columns, identity), run.items, None)
        for item in verifier.ahead(readable_items(items)):
            run.take(item)
            run.items += 1
            if progress is not None:
                progress(run.items)
            chunks.after_item(run)
        run.flush()
    store.finish_batch(run.batch_id, run.documents, run.signatures, run.rejected_items)
    return run


def _reject(identity: BatchIdentity, store: Store, row: BatchRow, reason: str) -> BatchOutcome:
    with store.transaction():
        store.record_batch(BatchRow(**{**row.__dict__, "outcome": BatchOutcomeKind.REJECTED, "reason": reason}))
        identity.verify()
    return BatchOutcome(row.file_name, row.sha256, BatchOutcomeKind.REJECTED, reason=reason)


def _duplicate(path: Path, previous: BatchRow) -> BatchOutcome:
    # For people: dd/mm/yyyy HH:MM:SS in Vietnam time, not the store's UTC (issue 17).
    reason = f"already processed on {for_people(previous.processed_at)} as {previous.file_name} ({previous.outcome})"
    if previous.reason:
        reason += f": {previous.reason}"
    return BatchOutcome(
        readable_name(path.name),
        previous.sha256,
        BatchOutcomeKind.DUPLICATE,
        reason=reason,
        previous_outcome=previous.outcome,
    )


def _kind(path: Path) -> BatchKind:
    if path.is_dir():
        return BatchKind.FOLDER
    return BatchKind.ZIP if path.suffix.lower() == ".zip" else BatchKind.FILE
