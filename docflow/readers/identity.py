"""A batch's identity: the SHA-256 of the bytes read, and the state of the files they were read from.

A batch is known by its hash, so the hash must be of what is stored and filed away, no more and no
less. Only ordinary files are ever opened: each is checked with ``lstat`` first (a link is never
followed, a pipe or a device never opened, since reading one may block for ever or never end), opened
with ``O_NOFOLLOW | O_NONBLOCK`` and checked again with ``fstat``. Each file's device, inode, size and
mtime are kept beside its hash, so the reader can check that it reads the very bytes that were hashed,
and ``verify`` that nothing changed before the batch is committed and moved.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "BatchIdentity",
    "BatchChanged",
    "NotABatch",
    "FileState",
    "FileKind",
    "take_identity",
    "open_regular",
    "open_regular_stream",
    "refusal",
]

_CHUNK = 1 << 20
_HASH_RUN = 64
"""Most files hashed per thread task."""
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_NOT_A_FILE = "not an ordinary file"
_LINK = "symbolic link"


class BatchChanged(Exception):
    """A batch changed while it was read: nothing read from it may be kept (the caller rolls back)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotABatch(Exception):
    """The path is a link, a pipe, a device or a socket: it is never read, and nothing of it is recorded."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FileKind(Enum):
    FILE = "file"
    LINK = "link"
    OTHER = "other"
    """A pipe, a device or a socket."""


@dataclass(frozen=True)
class FileState:
    """One file of a batch as it was when it was hashed."""

    relative: str
    """Path inside the folder, ``/``-separated; the file's own name for a batch that is one file."""
    kind: FileKind
    device: int
    inode: int
    size: int
    mtime_ns: int
    sha256: str | None = None
    """Of the bytes read; None for what is never read (links, pipes, devices)."""

    def matches(self, status: os.stat_result) -> bool:
        return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns) == (
            self.device,
            self.inode,
            self.size,
            self.mtime_ns,
        ) and _kind(status.st_mode) is self.kind


@dataclass(frozen=True)
class BatchIdentity:
    path: Path
    sha256: str
    size: int
    """Bytes of the ordinary files read."""
    newest: datetime
    """The newest mtime among them (a time that stays the same when a batch is retried)."""
    is_folder: bool
    files: tuple[FileState, ...]
    _by_name: dict[str, FileState] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {state.relative: state for state in self.files})

    def file(self, relative: str) -> FileState | None:
        """The state of one file of the batch, by its path inside the folder (or its name)."""
        return self._by_name.get(relative)

    def verify(self) -> None:
        """Raise ``BatchChanged`` unless every file is still the one that was hashed (and no file was added)."""
        try:
            now = _states(self.path) if self.is_folder else (_state(self.path, self.path.name),)
        except FileNotFoundError:
            raise BatchChanged(_changed("it was moved away or deleted")) from None
        if len(now) != len(self.files):
            raise BatchChanged(_changed("files were added to it or deleted from it"))
        for before, after in zip(self.files, now):
            if (before.relative, before.kind, before.device, before.inode, before.size, before.mtime_ns) != (
                after.relative,
                after.kind,
                after.device,
                after.inode,
                after.size,
                after.mtime_ns,
            ):
                raise BatchChanged(_changed(f"'{before.relative}' changed" if self.is_folder else "it changed"))


def _changed(what: str) -> str:
    return f"the batch changed while it was being read ({what})"


def refusal(path: Path) -> str | None:
    """Why ``path`` is never read as a batch (a link, a pipe, a device), or None."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(mode):
        return f"the batch is a {_LINK}; links are never followed — drop the files themselves"
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        return (
            f"the batch is {_NOT_A_FILE} or folder (a pipe, a device or a socket); nothing was read — "
            "drop the files themselves"
        )
    return None


def take_identity(path: Path) -> BatchIdentity:
    """Hash a batch: a file's SHA-256; for a folder, the SHA-256 of its sorted (relative path, file SHA-256) lines.

    A link, pipe or device inside a folder takes the place of a file hash as a word naming what it is,
    since it is never read. Raises ``NotABatch`` for a link, pipe or device given as the batch,
    ``OSError`` when it cannot be read.
    """
    reason = refusal(path)
    if reason is not None:
        raise NotABatch(reason)
    if not path.is_dir():
        state = _hashed(path, path.name)
        if state.kind is not FileKind.FILE:
            raise BatchChanged(_changed("it is no longer an ordinary file"))
        return BatchIdentity(path, state.sha256 or "", state.size, _utc(state.mtime_ns), False, (state,))
    files = _hashed_folder(path)
    digest = hashlib.sha256()
    for state in files:
        # A member name that is not UTF-8 is hashed as its own bytes; every other name as before.
        digest.update(
            f"{state.relative}\0{state.sha256 or _placeholder(state.kind)}\n".encode("utf-8", "surrogateescape")
        )
    read = [state for state in files if state.kind is FileKind.FILE]
    newest = max((state.mtime_ns for state in read), default=path.lstat().st_mtime_ns)
    return BatchIdentity(path, digest.hexdigest(), sum(state.size for state in read), _utc(newest), True, files)


def _placeholder(kind: FileKind) -> str:
    return _LINK if kind is FileKind.LINK else _NOT_A_FILE


@contextmanager
def open_regular(path: Path | str) -> Iterator[tuple[BinaryIO, os.stat_result]]:
    """An ordinary file opened for reading, with its ``fstat``; ``OSError`` for anything else.

    ``lstat`` first, so that a device is never even opened; ``O_NOFOLLOW | O_NONBLOCK`` and ``fstat``
    after, since the name may have been swapped for a link or a pipe in between.
    """
    stream, status = open_regular_stream(path)
    with stream:
        yield stream, status


def open_regular_stream(path: Path | str) -> tuple[BinaryIO, os.stat_result]:
    """``open_regular`` for a stream the caller closes."""
    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise OSError(f"it is {_NOT_A_FILE}")
    descriptor = os.open(path, _OPEN_FLAGS)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise OSError(f"it is {_NOT_A_FILE}")
        return os.fdopen(descriptor, "rb"), status
    except BaseException:
        os.close(descriptor)
        raise


def _hashed(path: Path | str, relative: str) -> FileState:
    status = os.lstat(path)
    kind = _kind(status.st_mode)
    if kind is not FileKind.FILE:
        return _of(relative, status)
    with open_regular(path) as (stream, status):
        digest = hashlib.sha256()
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return _of(relative, status, digest.hexdigest())


def _hashed_folder(folder: Path) -> tuple[FileState, ...]:
    files = _listing(folder)
    # hashlib and file reads release the GIL: a folder of many files hashes on every core. Files go to the
    # threads in runs: a task per file cost more in hand-offs than hashing a 100 KB file (2,000 packages:
    # 0.13-0.17 -> 0.085 s, CPU 0.21-0.24 -> 0.16 s).
    threads = os.cpu_count() or 1
    # ...but at least four runs a thread, so that a folder of a few large files still spreads over the cores.
    run = max(1, min(_HASH_RUN, len(files) // (4 * threads)))
    runs = [files[start : start + run] for start in range(0, len(files), run)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return tuple(itertools.chain.from_iterable(pool.map(_hashed_run, runs)))


def _hashed_run(files: list[tuple[str, str]]) -> list[FileState]:
    return [_hashed(full, relative) for relative, full in files]


def _states(folder: Path) -> tuple[FileState, ...]:
    return tuple(_state(full, relative) for relative, full in _listing(folder))


def _state(path: Path | str, relative: str) -> FileState:
    return _of(relative, os.lstat(path))


def _of(relative: str, status: os.stat_result, sha256: str | None = None) -> FileState:
    return FileState(
        relative, _kind(status.st_mode), status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, sha256
    )


def _kind(mode: int) -> FileKind:
    if stat.S_ISREG(mode):
        return FileKind.FILE
    return FileKind.LINK if stat.S_ISLNK(mode) else FileKind.OTHER


def _listing(folder: Path) -> list[tuple[str, str]]:
    """(path relative to the folder, with '/'; full path) of every file under it, sorted.

    Strings, not Path objects: building and relating two Paths per file was most of listing a
    folder of thousands of packages, and the listing is made before any work can start. Links to
    folders are listed as files (os.walk does not enter them): they are never followed.
    """
    top = os.fspath(folder)
    files: list[tuple[str, str]] = []
    for root, dirs, names in os.walk(top):
        relative_root = root[len(top) + 1 :].replace(os.sep, "/") if root != top else ""
        links = [name for name in dirs if os.path.islink(os.path.join(root, name))]
        files += [
            (f"{relative_root}/{name}" if relative_root else name, os.path.join(root, name))
            for name in (*names, *links)
        ]
    return sorted(files)


def _utc(mtime_ns: int) -> datetime:
    return datetime.fromtimestamp(mtime_ns / 1e9, UTC)
