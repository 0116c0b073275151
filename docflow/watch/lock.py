"""One watcher per inbox and one per store: an advisory ``flock`` that the OS releases when its holder dies.

The lock file holds ``host:pid`` of the holder, for the message a second watcher prints; the lock itself
is the ``flock``, never the file's presence, so a watcher killed with ``-9`` leaves nothing that blocks
the next one. The file is removed on a clean stop (after checking, under the lock, that it is still the
file locked, so that a watcher starting at that moment never locks a file already unlinked).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from pathlib import Path
from types import TracebackType

from docflow.i18n import _

__all__ = ["FolderLock", "LockHeld", "INBOX_LOCK_NAME", "store_lock_path"]

INBOX_LOCK_NAME = ".docflow-watch.lock"
"""In the inbox; a dot name, so never taken for a batch."""


class LockHeld(Exception):
    """Another docflow holds the lock (or the lock file cannot be made); ``str()`` says which and what to do."""


def store_lock_path(db: Path) -> Path:
    return db.with_name(f".{db.name}.watch.lock")


class FolderLock:
    """``with FolderLock(path, held):`` holds ``path`` exclusively or raises ``LockHeld``."""

    def __init__(self, path: Path, held: str) -> None:
        self.path = path
        self._held = held
        """What a second watcher is told; ``{holder}`` becomes ``host:pid`` of the first."""
        self._descriptor: int | None = None

    def __enter__(self) -> FolderLock:
        while True:
            try:
                descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            except OSError as error:
                why = error.strerror or error
                raise LockHeld(
                    _(
                        "cannot make the lock file {path} ({why}): docflow watch must be able to write in that folder"
                    ).format(path=self.path, why=why)
                ) from error
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(descriptor)
                os.close(descriptor)
                raise LockHeld(self._held.format(holder=holder or _("an unknown process"))) from None
            except BaseException:
                os.close(descriptor)
                raise
            if _same_file(descriptor, self.path):
                break
            os.close(descriptor)  # unlinked by a watcher stopping meanwhile: lock the new file instead
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{socket.gethostname()}:{os.getpid()}\n".encode())
        self._descriptor = descriptor
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._descriptor is None:
            return
        with contextlib.suppress(OSError):  # a read-only inbox: the stale file blocks nobody
            self.path.unlink(missing_ok=True)
        os.close(self._descriptor)
        self._descriptor = None


def _holder(descriptor: int) -> str:
    # The holder writes its name just after it locks: a second watcher started at the same moment may find
    # the file still empty, so it looks again for a little while before saying "an unknown process".
    for _attempt in range(20):
        holder = _read(descriptor)
        if holder:
            return holder
        time.sleep(0.025)
    return ""


def _read(descriptor: int) -> str:
    try:
        return os.pread(descriptor, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        named = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)
