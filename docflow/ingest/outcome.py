"""What happened to one batch: the outcome kinds and the ``docflow ingest --json`` line."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from docflow.i18n import N_, _

__all__ = ["BatchOutcomeKind", "BatchOutcome", "outcome_word"]


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


_OUTCOME_WORDS = {
    BatchOutcomeKind.INGESTED.value: N_("ingested"),
    BatchOutcomeKind.REJECTED.value: N_("rejected"),
    BatchOutcomeKind.DUPLICATE.value: N_("duplicate"),
    BatchOutcomeKind.BUSY.value: N_("busy"),
    BatchOutcomeKind.IN_PROGRESS.value: N_("in progress"),
}


def outcome_word(outcome: str) -> str:
    """A batch's outcome (stored and in JSON as ``ingested``, ``rejected``…) in the reader's language."""
    return _(_OUTCOME_WORDS[outcome]) if outcome in _OUTCOME_WORDS else outcome
