"""A long batch committed in chunks: who owns an ``in progress`` batch, resuming it, and each chunk's commit.

A batch longer than ``IngestOptions.chunk_items`` (a register of millions of rows) is committed in chunks,
each with the batch row's count of items committed (``items_done``, outcome ``in progress``): a run that stops
between chunks is resumed after that many items when the batch is taken again, so each item is still counted
once (docs/reliability.md, "Large registers").
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from docflow.ingest.outcome import BatchOutcomeKind
from docflow.store.core import BatchRow, Store, StoreBusy

if TYPE_CHECKING:
    from docflow.ingest.batch_run import BatchRun

__all__ = ["IN_PROGRESS", "AlreadyStored", "Chunks", "resumable", "reading", "now", "iso"]

IN_PROGRESS = BatchOutcomeKind.IN_PROGRESS
"""``batches.outcome`` of a batch committed in part (``IngestOptions.chunk_items``)."""

_OWNER = f"{socket.gethostname()}:{os.getpid()}"
_ACTIVE: set[str] = set()
"""SHA-256 of the batches this process is reading now: its own ``in progress`` rows that are not abandoned."""
_ABANDONED_AFTER_SECONDS = 600
"""An ``in progress`` batch whose last chunk is older than this is taken over, whoever holds it."""


class AlreadyStored(Exception):
    """The batch is complete in the store: another docflow took it between our look-up and our lock."""


@contextmanager
def reading(sha256: str) -> Iterator[None]:
    """While a batch is read by this process: its ``in progress`` row is its own and not abandoned, whatever
    its age. Entered after ``resumable``, which must still see a row this process left behind as abandoned."""
    _ACTIVE.add(sha256)
    try:
        yield
    finally:
        _ACTIVE.discard(sha256)


def resumable(store: Store, sha256: str) -> BatchRow | None:
    """Inside the batch's first transaction: the batch's ``in progress`` row, now claimed by this process, to be
    resumed; None for a new batch. AlreadyStored when it is complete; StoreBusy while another process reads it."""
    existing = store.batch_by_sha256(sha256)
    if existing is None:
        return None
    if existing.outcome != IN_PROGRESS:
        raise AlreadyStored
    if _is_being_read(existing):
        raise StoreBusy(
            f"another docflow ({existing.owner}) is reading this batch ({existing.items_done or 0:,} "
            "items committed so far); it stays where it is: try again later"
        )
    store.conn.execute("UPDATE batches SET owner = ? WHERE id = ?", (_OWNER, existing.id))
    return existing


def _is_being_read(batch: BatchRow) -> bool:
    """Whether the process named in an ``in progress`` row is still reading it (the row's last chunk is recent
    and, on this machine, that process is alive and, if it is this one, reading it now)."""
    try:
        age = (now() - datetime.fromisoformat(batch.processed_at)).total_seconds()
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
class Chunks:
    """Commits a long batch every ``size`` items, where nothing read is still waiting to be joined."""

    store: Store
    size: int
    committed: int
    """Items committed so far (by this run or the runs it resumes)."""

    def after_item(self, run: BatchRun) -> None:
        # A register row naming a signed file waits for that file, and a bare signed file for its row: what joins
        # them lives in this run only, so no chunk ends while either is held (such a batch commits once, at the end).
        if run.items - self.committed < self.size or run.named_payloads or run.bare_payloads:
            return
        run.flush()
        self.store.batch_in_progress(
            run.batch_id, run.items, _OWNER, iso(now()), (run.documents, run.signatures, run.rejected_items)
        )
        self.store.commit_and_begin()
        self.committed = run.items
        # The compare of compare-and-set: the next chunk is written only while the row still says what this run
        # committed. Another process takes a batch over only when this one looks gone; then this run stops.
        state = self.store.conn.execute(
            "SELECT items_done, owner FROM batches WHERE id = ?", (run.batch_id,)
        ).fetchone()
        if tuple(state or ()) != (run.items, _OWNER):
            raise StoreBusy(
                "another docflow took this batch over while it was being read; it stays where it is: try again later"
            )


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
