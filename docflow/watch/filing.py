"""Where a batch goes once taken: ``archive/``, or ``rejected/`` beside an ``.error.json`` saying what to do.

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
from datetime import UTC, datetime
from pathlib import Path

from docflow.ingest.run import BatchOutcome, BatchOutcomeKind
from docflow.readers.names import name_bytes, readable_name

__all__ = ["Filing", "filed_name"]

_WHAT_TO_DO_UNREADABLE = (
    "Read the reason, export the batch again from the document-management software, "
    "and drop the new export into the inbox."
)
_WHAT_TO_DO_FAILED = (
    "docflow failed on this batch several times; it is kept here unchanged. Send this file and the batch "
    "to the docflow administrator; once fixed, drop the batch into the inbox again."
)
_WHAT_TO_DO_REFUSED = (
    "Links, pipes and devices are never read. Put the file or folder itself (a copy, not a link) into the inbox."
)
_TRASH = ".docflow-trash"
"""Inside the inbox (so on its file system): duplicates are renamed here whole, then deleted."""
_NAME_MAX = 255
_ERROR_SUFFIX = ".error.json"


@dataclass(frozen=True)
class Filing:
    """The folders batches are filed into; each method raises OSError when the move fails (nothing is lost)."""

    inbox: Path
    archive_dir: Path
    rejected_dir: Path

    def empty_trash(self) -> None:
        """Remove what a kill left half deleted; it was out of the inbox's sight already."""
        shutil.rmtree(self.inbox / _TRASH, ignore_errors=True)

    def file_away(self, path: Path, outcome: BatchOutcome) -> None:
        """An outcome the store has committed (or a refusal): ``archive/``, or ``rejected/`` when it was rejected,
        now or the first time it was seen."""
        target_name = filed_name(outcome.sha256[:16] or f"refused-{_stamp()}", path.name)
        rejected = BatchOutcomeKind.REJECTED
        if outcome.outcome == rejected or outcome.previous_outcome == rejected:
            self._move_to_rejected(
                path, target_name, outcome, _WHAT_TO_DO_UNREADABLE if outcome.sha256 else _WHAT_TO_DO_REFUSED
            )
        else:
            _move(path, self.archive_dir / target_name)

    def quarantine(self, path: Path, outcome: BatchOutcome, details: list[str]) -> None:
        """A batch docflow kept failing on, kept unchanged for the administrator with the last traceback."""
        self._move_to_rejected(path, filed_name(f"failed-{_stamp()}", path.name), outcome, _WHAT_TO_DO_FAILED, details)

    def _move_to_rejected(
        self, path: Path, target_name: str, outcome: BatchOutcome, what_to_do: str, details: list[str] | None = None
    ) -> None:
        folder = self.rejected_dir
        folder.mkdir(parents=True, exist_ok=True)
        error = {
            "file": readable_name(path.name),
            "sha256": outcome.sha256 or None,
            "reason": outcome.reason,
            "rejected_at": _stamp_iso(),
            "what_to_do": what_to_do,
        }
        if details:
            error["traceback"] = "".join(details)
        _write_atomically(folder / f"{target_name}{_ERROR_SUFFIX}", json.dumps(error, ensure_ascii=False, indent=2))
        _move(path, folder / target_name)


def filed_name(prefix: str, name: str) -> str:
    """``PREFIX-NAME``, shortened in the middle of NAME so that it and its .error.json fit NAME_MAX bytes."""
    # In bytes, as the file system counts them: a name that is not UTF-8 keeps its own bytes (surrogate escapes).
    budget = _NAME_MAX - len(_ERROR_SUFFIX) - len(prefix.encode()) - 1
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


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S")


def _stamp_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
