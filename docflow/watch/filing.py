"""Where a batch goes once taken: ``archive/``, or ``rejected/`` beside an ``.error.json`` saying what to do;
either way with its receipt (``NAME.receipt.txt`` and ``NAME.receipt.json``) beside it.

The store commit comes first and the move second (``docflow.watch.watcher``), so every move here may be
retried: a target that exists already holds the same content (its name starts with the batch's hash), and
the copy in the inbox is then only a duplicate to discard.
"""

from __future__ import annotations

import codecs
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from docflow.i18n import N_
from docflow.ingest.run import BatchOutcome
from docflow.readers.names import name_bytes, readable_name
from docflow.watch.receipt import Receipt
from docflow.watch.receipt_text import receipt_text

__all__ = ["Filing", "filed_name", "WHAT_TO_DO_UNREADABLE", "WHAT_TO_DO_FAILED", "WHAT_TO_DO_REFUSED"]

# English in the receipt's JSON; the text receipt shows them translated (receipt_text).
WHAT_TO_DO_UNREADABLE = N_(
    "Read the reason, export the batch again from the document-management software, "
    "and drop the new export into the inbox."
)
WHAT_TO_DO_FAILED = N_(
    "docflow failed on this batch several times; it is kept here unchanged. Send this file and the batch "
    "to the docflow administrator; once fixed, drop the batch into the inbox again."
)
WHAT_TO_DO_REFUSED = N_(
    "Links, pipes and devices are never read. Put the file or folder itself (a copy, not a link) into the inbox."
)
_TRASH = ".docflow-trash"
"""Inside the inbox (so on its file system): duplicates are renamed here whole, then deleted."""
_NAME_MAX = 255
_ERROR_SUFFIX = ".error.json"
_RECEIPT_SUFFIXES = (".receipt.txt", ".receipt.json")
_LONGEST_SUFFIX = max(len(suffix) for suffix in (_ERROR_SUFFIX, *_RECEIPT_SUFFIXES))
_NOTHING_ACCEPTED = "nothing in the batch was accepted: every item was refused ({first}; the receipt lists each)"


@dataclass(frozen=True)
class Filing:
    """The folders batches are filed into; each method raises OSError when the move fails (nothing is lost)."""

    inbox: Path
    archive_dir: Path
    rejected_dir: Path
    zone: tzinfo | None = None
    """Where the receipt's times are shown (``[display] timezone``; None: Asia/Ho_Chi_Minh)."""

    def empty_trash(self) -> None:
        """Remove what a kill left half deleted; it was out of the inbox's sight already."""
        shutil.rmtree(self.inbox / _TRASH, ignore_errors=True)

    def file_away(
        self, path: Path, outcome: BatchOutcome, receipt: Receipt, to_rejected: bool, marker: Path | None = None
    ) -> Path:
        """An outcome the store has committed (or a refusal) and its receipt: ``archive/``, or ``rejected/``
        (``to_rejected``: nothing of it was accepted, now or the first time it was seen). Returns where it went."""
        target_name = filed_name(outcome.sha256[:16] or f"refused-{_stamp()}", path.name)
        if to_rejected:
            what_to_do = WHAT_TO_DO_UNREADABLE if outcome.sha256 else WHAT_TO_DO_REFUSED
            reason = outcome.reason if outcome.reason else _nothing_accepted(receipt)
            target = self._move_to_rejected(path, target_name, outcome.sha256, reason, what_to_do, receipt)
        else:
            target = self.archive_dir / target_name
            _write_receipt(target, receipt, self.zone)
            _move(path, target)
        if marker is not None:
            marker.unlink(missing_ok=True)  # its batch is filed: the writer's "complete" has been heard
        return target

    def quarantine(self, path: Path, outcome: BatchOutcome, receipt: Receipt, details: list[str]) -> Path:
        """A batch docflow kept failing on, kept unchanged for the administrator with the last traceback."""
        target_name = filed_name(f"failed-{_stamp()}", path.name)
        reason = outcome.reason or ""
        return self._move_to_rejected(path, target_name, outcome.sha256, reason, WHAT_TO_DO_FAILED, receipt, details)

    def _move_to_rejected(  # noqa: PLR0913 - each is one line of the .error.json
        self,
        path: Path,
        target_name: str,
        sha256: str,
        reason: str | None,
        what_to_do: str,
        receipt: Receipt,
        details: list[str] | None = None,
    ) -> Path:
        folder = self.rejected_dir
        folder.mkdir(parents=True, exist_ok=True)
        error = {
            "file": readable_name(path.name),
            "sha256": sha256 or None,
            "reason": reason,
            "rejected_at": _stamp_iso(),
            "what_to_do": what_to_do,
        }
        if details:
            error["traceback"] = "".join(details)
        _write_atomically(folder / f"{target_name}{_ERROR_SUFFIX}", json.dumps(error, ensure_ascii=False, indent=2))
        _write_receipt(folder / target_name, receipt, self.zone)
        _move(path, folder / target_name)
        return folder / target_name


def _nothing_accepted(receipt: Receipt) -> str:
    first = receipt.rejected_items[0] if receipt.rejected_items else None
    return _NOTHING_ACCEPTED.format(first=f"{first.item}: {first.reason}" if first else "no item could be read")


def filed_name(prefix: str, name: str) -> str:
    """``PREFIX-NAME``, shortened in the middle of NAME so that it and its receipts fit NAME_MAX bytes."""
    # In bytes, as the file system counts them: a name that is not UTF-8 keeps its own bytes (surrogate escapes).
    budget = _NAME_MAX - _LONGEST_SUFFIX - len(prefix.encode()) - 1
    if len(name_bytes(name)) <= budget:
        return f"{prefix}-{name}"
    stem, dot, extension = name.rpartition(".")
    tail = f"~{dot}{extension}" if dot and len(name_bytes(extension)) <= 16 else "~"
    head = name_bytes(stem if dot else name)[: budget - len(name_bytes(tail))]
    # Not final: a character the cut split is held back (dropped); bytes that are not UTF-8 are kept.
    return f"{prefix}-{codecs.getincrementaldecoder('utf-8')('surrogateescape').decode(head)}{tail}"


def _move(source: Path, target: Path) -> None:
    """Move into place; an existing target has the same hash prefix, i.e. the same content."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        _discard(source)
        return
    if source.is_symlink() or source.is_dir() or source.is_file():
        shutil.move(str(source), str(target))
    else:
        os.rename(source, target)  # a pipe or a device: shutil.move's copy across file systems would read it


def _discard(source: Path) -> None:
    """Delete a duplicate; a folder is first renamed whole out of the inbox's sight, so that a kill half-way
    through never leaves part of it behind to be taken as a new batch."""
    if source.is_symlink() or not source.is_dir():
        source.unlink()
        return
    trash = source.parent / _TRASH
    trash.mkdir(exist_ok=True)
    doomed = trash / uuid.uuid4().hex
    os.rename(source, doomed)
    shutil.rmtree(doomed, ignore_errors=True)  # whatever stays is removed when a watcher starts


def _write_receipt(batch_target: Path, receipt: Receipt, zone: tzinfo | None) -> None:
    """Written before the batch is moved: a batch filed is never without its receipt (a retry rewrites it).
    A target filed already is the same content filed before: its receipts tell the first time, and stay."""
    if os.path.lexists(batch_target):
        return
    batch_target.parent.mkdir(parents=True, exist_ok=True)
    text, machine = _RECEIPT_SUFFIXES
    _write_atomically(batch_target.with_name(batch_target.name + text), receipt_text(receipt, zone))
    _write_atomically(
        batch_target.with_name(batch_target.name + machine), json.dumps(receipt.to_json(), ensure_ascii=False, indent=2)
    )


def _write_atomically(path: Path, text: str) -> None:
    # A short name of its own: ".NAME.tmp" of a name already at the limit would be too long.
    temporary = path.with_name(f".docflow-{uuid.uuid4().hex[:12]}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S")


def _stamp_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
