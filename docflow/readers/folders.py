"""A folder or a single file as a container, and ``open_top``: the container a batch arrives as.

A folder member is read only as the ordinary file the batch's identity hashed
(``docflow.readers.identity``); a zip batch is opened once, pinned to the very file that was hashed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

from docflow.readers.archive import (
    BatchUnreadable,
    Budget,
    Container,
    Entry,
    MemberRejected,
    bounded,
    is_temporary,
    member_kind,
    read_bounded,
)
from docflow.readers.identity import (
    BatchChanged,
    BatchIdentity,
    FileState,
    open_regular,
    open_regular_stream,
)
from docflow.readers.limits import Limits, size_text
from docflow.readers.zipfiles import ZipContainer, open_zip
from docflow.records import RejectedItem

__all__ = ["FolderContainer", "open_top"]


def _unreadable(entry: Entry, hashed: FileState | None, error: OSError) -> Exception:
    """What to raise when a member cannot be opened: a hashed member that vanished means the batch changed."""
    if isinstance(error, FileNotFoundError):
        if hashed is not None:
            return BatchChanged(f"the batch changed while it was being read ('{entry.name}' was deleted)")
        return MemberRejected("it was deleted while the batch was being read")
    return MemberRejected(f"it could not be read ({error.strerror or error})")


class FolderContainer:
    def __init__(
        self, root: Path, limits: Limits, single: Path | None = None, identity: BatchIdentity | None = None
    ) -> None:
        self.root = root
        self.prefix = ""
        self.limits = limits
        self.single = single
        self.identity = identity
        """The files as they were hashed: each file read must be one of them, unchanged."""

    def scan(self) -> tuple[list[Entry], list[RejectedItem]]:
        entries: list[Entry] = []
        rejected: list[RejectedItem] = []
        paths = [self.single] if self.single else self._walk(rejected)
        for path in paths:
            name = path.relative_to(self.root).as_posix()
            status = path.lstat()
            problem = self._file_problem(status)
            if problem:
                rejected.append(RejectedItem(name, problem))
            else:
                entries.append(Entry(name, status.st_size))
        return entries, rejected

    def _walk(self, rejected: list[RejectedItem]) -> list[Path]:
        files: list[Path] = []
        for folder, dirnames, filenames in os.walk(self.root, followlinks=False):
            here = Path(folder)
            for dirname in list(dirnames):
                if is_temporary(dirname) or (here / dirname).is_symlink():
                    dirnames.remove(dirname)
                    if (here / dirname).is_symlink():
                        rejected.append(
                            RejectedItem(
                                (here / dirname).relative_to(self.root).as_posix(),
                                "it is a symbolic link to a folder; links are never followed",
                            )
                        )
            dirnames.sort()
            files.extend(here / name for name in sorted(filenames) if not is_temporary(name))
        return files

    def _file_problem(self, status: os.stat_result) -> str | None:
        if stat.S_ISLNK(status.st_mode):
            return "it is a symbolic link; links are never followed — copy the file itself into the batch"
        if not stat.S_ISREG(status.st_mode):
            return "it is not an ordinary file"
        size = status.st_size
        if size > self.limits.max_member_bytes:
            return f"it is {size_text(size)}, over the {size_text(self.limits.max_member_bytes)} limit for one file"
        return None

    def _hashed(self, entry: Entry) -> FileState | None:
        """What the batch's identity says this member was; BatchChanged for a member it never saw."""
        hashed = self.identity.file(entry.name) if self.identity is not None else None
        if self.identity is not None and hashed is None:
            raise BatchChanged(f"the batch changed while it was being read ('{entry.name}' was added)")
        return hashed

    def read(self, entry: Entry, budget: Budget) -> bytes:
        path = self.root / entry.name
        hashed = self._hashed(entry)
        try:
            # The file may have been swapped for a link, a pipe or a device since the listing.
            with open_regular(path) as (stream, status):
                if hashed is not None and not hashed.matches(status):
                    raise BatchChanged(f"the batch changed while it was being read ('{entry.name}' changed)")
                data = read_bounded(stream, self.limits.max_member_bytes, budget, "it grew over the size limit")
        except OSError as error:
            raise _unreadable(entry, hashed, error) from error
        # What is stored must be what was hashed: the same file could have been rewritten in place.
        if hashed is not None and hashlib.sha256(data).hexdigest() != hashed.sha256:
            raise BatchChanged(f"the batch changed while it was being read ('{entry.name}' changed)")
        return data

    def open(self, entry: Entry, budget: Budget | None) -> BinaryIO:
        """As ``read``, streamed: an ordinary file only, the one hashed; its bytes are checked against the hash at
        their end on the counted pass (the one whose rows are stored)."""
        hashed = self._hashed(entry)
        changed = f"the batch changed while it was being read ('{entry.name}' changed)"
        try:
            stream, status = open_regular_stream(self.root / entry.name)
        except OSError as error:
            raise _unreadable(entry, hashed, error) from error
        if hashed is not None and not hashed.matches(status):
            stream.close()
            raise BatchChanged(changed)
        expected = hashed.sha256 if hashed is not None and budget is not None else None
        return bounded(stream, self.limits.max_member_bytes, budget, "it grew over the size limit", expected, changed)


def open_top(path: Path, limits: Limits, identity: BatchIdentity | None, opened: ExitStack) -> tuple[Container, int]:
    if path.is_symlink():
        raise BatchUnreadable("the batch is a symbolic link; links are never followed — drop the files themselves")
    if path.is_dir():
        total = (
            identity.size
            if identity is not None
            else sum(f.lstat().st_size for f in path.rglob("*") if not f.is_symlink() and f.is_file())
        )
        _check_size(total, limits)
        return FolderContainer(path, limits, identity=identity), 0
    if not path.is_file():
        raise BatchUnreadable("the batch is neither a file nor a folder")
    size = path.stat().st_size
    if size == 0:
        raise BatchUnreadable("the batch file is empty")
    _check_size(size, limits)
    if member_kind(path.name) != "zip":
        return FolderContainer(path.parent, limits, single=path, identity=identity), 0
    archive = open_zip(_open_pinned(path, identity, opened))
    if archive is None:
        raise BatchUnreadable(
            "the file is named .zip but is not a readable zip archive; ask the sender to re-create it"
        )
    opened.enter_context(archive)
    return ZipContainer(archive, "", limits), 1


def _open_pinned(path: Path, identity: BatchIdentity | None, opened: ExitStack) -> BinaryIO:
    """The batch file, opened once for all its members; with ``identity``, the very file that was hashed."""
    try:
        stream, status = opened.enter_context(open_regular(path))
    except FileNotFoundError:
        if identity is None:
            raise BatchUnreadable("the batch file was deleted before it could be read") from None
        raise BatchChanged("the batch changed while it was being read (it was deleted)") from None
    except OSError as error:
        raise BatchUnreadable(f"the batch file could not be read ({error.strerror or error})") from error
    hashed = identity.file(path.name) if identity is not None else None
    if identity is not None and (hashed is None or not hashed.matches(status)):
        raise BatchChanged("the batch changed while it was being read (it was replaced or rewritten)")
    return stream


def _check_size(size: int, limits: Limits) -> None:
    if size > limits.max_batch_bytes:
        raise BatchUnreadable(
            f"the batch is {size_text(size)}, over the {size_text(limits.max_batch_bytes)} "
            "limit; split it into smaller batches"
        )
