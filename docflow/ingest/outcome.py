"""What happened to one batch: the outcome kinds and the ``docflow ingest --json`` line."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["BatchOutcomeKind", "BatchOutcome"]


class BatchOutcomeKind(StrEnum):
    """A batch's outcome. The values are what ``--json`` prints and ``batches.outcome`` holds, so they never change;
    a ``StrEnum`` so that the store, JSON and log lines see the plain string."""

    INGESTED = "ingested"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    BUSY = "busy"
    """Another docflow holds the store or this batch (``docflow ingest`` only; the watcher retries)."""
    IN_PROGRESS = "in progress"
    """Only in ``batches``: a batch committed in part (``IngestOptions.chunk_items``), to be resumed."""


@dataclass(frozen=True)
class BatchOutcome:
    """What happened to one batch; ``to_json`` is the ``docflow ingest --json`` line."""

    file: str
    sha256: str
    outcome: BatchOutcomeKind
    """``ingested``, ``duplicate``, ``rejected`` (or ``busy``, from ``docflow ingest``)."""
    documents: int = 0
    signatures: int = 0
    rejected_items: int = 0
    reason: str | None = None
    previous_outcome: str | None = None
    """For a duplicate: what happened to the batch the first time, as the store says (the watcher files it
    accordingly)."""

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "outcome": str(self.outcome),
            "documents": self.documents,
            "signatures": self.signatures,
            "rejected_items": self.rejected_items,
            "reason": self.reason,
        }
