"""The receipt filed beside every batch: what the store holds of it, read back after the commit.

Read from the store, not from the run's counters, so that the receipt says what was stored: the
documents this batch recorded or changed (a document named twice counts once), the signatures it
added, each item refused with its reason, and each signature that did not pass. ``docs/batch-format.md``
describes both files; ``docflow.watch.receipt_text`` writes the clerk's text.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime

from docflow.i18n import N_
from docflow.ingest.run import BatchOutcome, BatchOutcomeKind
from docflow.readers.names import readable_name
from docflow.store.batch_counts import StoredCounts, stored_counts
from docflow.store.core import Store
from docflow.times import for_machines

__all__ = [
    "Receipt",
    "RefusedItem",
    "UnpassedSignature",
    "receipt_for",
    "belongs_in_rejected",
]

_DEFAULT_WHAT_TO_DO = N_("Correct it and send it again in a new batch.")
_ADVICE = re.compile(
    r"(?:\s+—\s+|;\s+|:\s+)(?=(?:ask|send|save|drop|export|re-export|put|use|correct|remove|fix|give|add|sign|"
    r"check|split|name|declare|rename|set)\b)",
    re.IGNORECASE,
)
_COMMON_NAME = re.compile(r"(?:^|,)\s*CN=((?:[^,\\]|\\.)+)")
_VERDICT_WORDS = {"TOTAL_FAILED": "failed", "INDETERMINATE": "could not be confirmed"}


@dataclass(frozen=True)
class RefusedItem:
    item: str
    """The item's name inside the batch (with ``row N`` for a register row), or the batch's own name."""
    reason: str
    what_to_do: str


@dataclass(frozen=True)
class UnpassedSignature:
    document: str
    signer: str
    verdict: str
    """In words: ``failed: …`` or ``could not be confirmed: …`` with the verifier's reason."""
    passed_indication: str
    """``TOTAL_FAILED`` or ``INDETERMINATE``, for the clerk's text."""


@dataclass(frozen=True)
class Receipt:
    batch: str
    sha256: str
    outcome: str
    """``ingested``, ``rejected`` (nothing of it accepted) or ``duplicate``."""
    counts: StoredCounts
    received_at: datetime
    rejected_items: tuple[RefusedItem, ...]
    signatures_not_passed: tuple[UnpassedSignature, ...]
    earlier: str | None = None
    """For a duplicate: what happened the first time (the store's words)."""

    def to_json(self) -> dict[str, object]:
        return {
            "batch": self.batch,
            "sha256": self.sha256,
            "outcome": self.outcome,
            "documents": self.counts.documents,
            "signatures": self.counts.signatures,
            "received_at": for_machines(self.received_at),
            "rejected_items": [
                {"item": item.item, "reason": item.reason, "what_to_do": item.what_to_do}
                for item in self.rejected_items
            ],
            "signatures_not_passed": [
                {"document": sig.document, "signer": sig.signer, "verdict": sig.verdict}
                for sig in self.signatures_not_passed
            ],
        }


def receipt_for(
    store: Store | None, outcome: BatchOutcome, received_at: datetime, what_to_do_when_refused: str, *, rejected: bool
) -> Receipt:
    """The receipt of a batch the store has committed, or refused without a row (a link, a pipe)."""
    outcome = dataclasses.replace(outcome, file=readable_name(outcome.file))  # a name that is not UTF-8: escaped
    row = store.batch_by_sha256(outcome.sha256) if store is not None and outcome.sha256 else None
    batch_id = row.id if row is not None else None
    if store is None or outcome.outcome == BatchOutcomeKind.REJECTED or batch_id is None:
        refused = RefusedItem(
            outcome.file, outcome.reason or N_("the batch could not be read"), what_to_do_when_refused
        )
        return Receipt(outcome.file, outcome.sha256, "rejected", StoredCounts(), received_at, (refused,), ())
    duplicate = outcome.outcome == BatchOutcomeKind.DUPLICATE
    return Receipt(
        outcome.file,
        outcome.sha256,
        "duplicate" if duplicate else "rejected" if rejected else "ingested",
        StoredCounts() if duplicate else stored_counts(store.conn, batch_id),
        received_at,
        _refused_items(store, batch_id),
        _unpassed(store, batch_id),
        outcome.reason if duplicate else None,
    )


def belongs_in_rejected(store: Store, outcome: BatchOutcome) -> bool:
    """Nothing of the batch was accepted, now or (a duplicate) the first time it was seen."""
    if outcome.outcome == BatchOutcomeKind.REJECTED or outcome.previous_outcome == BatchOutcomeKind.REJECTED:
        return True
    return outcome.outcome in (BatchOutcomeKind.INGESTED, BatchOutcomeKind.DUPLICATE) and store.nothing_accepted(
        outcome.sha256
    )


def _refused_items(store: Store, batch_id: int) -> tuple[RefusedItem, ...]:
    rows = store.conn.execute(
        "SELECT item_name, reason FROM rejected_items WHERE batch_id = ? ORDER BY id", (batch_id,)
    ).fetchall()
    return tuple(RefusedItem(str(name), *split_advice(str(reason))) for name, reason in rows)


def split_advice(reason: str) -> tuple[str, str]:
    """A reader's reason ends with what to do ("…; ask the sender to re-export"): the two parts, apart."""
    matches = list(_ADVICE.finditer(reason))
    if not matches:
        return reason, _DEFAULT_WHAT_TO_DO
    cut = matches[-1]
    advice = reason[cut.end() :].strip()
    return reason[: cut.start()].strip(), advice[:1].upper() + advice[1:]


def _unpassed(store: Store, batch_id: int) -> tuple[UnpassedSignature, ...]:
    rows = store.conn.execute(
        "SELECT coalesce(document_id, item_name), signer_subject, indication, reason FROM signatures"
        " WHERE batch_id = ? AND indication != 'TOTAL_PASSED' ORDER BY id",
        (batch_id,),
    ).fetchall()
    return tuple(
        UnpassedSignature(
            str(document),
            _signer(subject),
            f"{_VERDICT_WORDS.get(str(indication), str(indication))}: {reason}",
            str(indication),
        )
        for document, subject, indication, reason in rows
    )


def _signer(subject: object) -> str:
    if not subject:
        return "unknown signer (no certificate could be read)"
    match = _COMMON_NAME.search(str(subject))
    return match.group(1).replace("\\", "") if match else str(subject)
