"""When a batch waiting in the inbox may be taken: the completeness rule of ``docflow.watch.completeness``
applied over time, one ``Pending`` per top-level name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

from docflow.ingest.run import BatchOutcome
from docflow.readers.names import readable_name
from docflow.watch.completeness import cut_short
from docflow.watch.retry import Attempts

__all__ = ["Pending", "Readiness", "Timing", "readiness", "settle_signature"]

log = logging.getLogger("docflow.watch.watcher")

Signature = tuple[tuple[str, int, int], ...]


@dataclass
class Pending:
    signature: Signature | None = None
    stable_since: float = 0.0
    first_seen: datetime = field(default_factory=lambda: datetime.now(UTC))
    attempts: Attempts = field(default_factory=Attempts)
    committed: BatchOutcome | None = None
    """The outcome once the store has committed it, while filing it away still fails."""
    at_once: bool = False
    """The writer said it is complete (renamed from a temporary name, or a ``NAME.done`` marker)."""
    marker: Path | None = None
    """The ``NAME.done`` marker, removed once the batch is filed."""
    checked: Signature | None = None
    """The signature ``cut_short`` was last asked about, and its answer (asked again only after a change)."""
    cut_short: str | None = None


class Readiness(Enum):
    WAIT = "wait"
    TAKE = "take"
    GONE = "gone"


@dataclass(frozen=True)
class Timing:
    settle_seconds: float
    grace_seconds: float
    once: bool
    """``--once``: what is present is taken as complete (no look for a cut-short file)."""


def readiness(path: Path, pending: Pending, now: float, timing: Timing) -> Readiness:
    signature = settle_signature(path)
    if signature is None:
        return Readiness.GONE
    if signature != pending.signature:
        pending.signature, pending.stable_since = signature, now
        return Readiness.TAKE if pending.at_once else Readiness.WAIT
    if pending.at_once:
        return Readiness.TAKE
    quiet = now - pending.stable_since
    if quiet < timing.settle_seconds:
        return Readiness.WAIT
    if timing.once:
        return Readiness.TAKE
    if pending.checked != signature:
        pending.checked, pending.cut_short = signature, cut_short(path)
        if pending.cut_short is not None:
            log.info(
                "%s: looks still arriving (%s); it is read once it grows, or once unchanged for %.0f s",
                readable_name(path.name),
                pending.cut_short,
                timing.grace_seconds,
            )
    if pending.cut_short is not None and quiet < timing.grace_seconds:
        return Readiness.WAIT
    return Readiness.TAKE


def settle_signature(path: Path) -> Signature | None:
    """Size and mtime of the file, or of every file in the folder; None when it is gone."""
    try:
        # lstat: a link is never followed (it may point at a pipe, or nowhere).
        if path.is_symlink() or not path.is_dir():
            stat = path.lstat()
            return (("", stat.st_size, stat.st_mtime_ns),)
        entries: list[tuple[str, int, int]] = []
        for file_path in sorted(_walk(path)):
            try:
                stat = file_path.lstat()
            except FileNotFoundError:
                continue  # deleted while listed: a change like any other, not the batch gone
            entries.append((file_path.relative_to(path).as_posix(), stat.st_size, stat.st_mtime_ns))
        stat = path.stat()
        return (("", 0, stat.st_mtime_ns), *entries)
    except FileNotFoundError:
        return None


def _walk(folder: Path) -> Iterator[Path]:
    for root, _dirs, names in os.walk(folder):
        for name in names:
            yield Path(root, name)
