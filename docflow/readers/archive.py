"""The containers a batch comes in — a zip, a folder, a single file — and the rules for their members.

Names are checked first (a zip's central directory, a folder's listing), then members are read one
at a time, each bounded by ``Limits`` and by the batch's ``Budget`` of unpacked bytes; nothing is
extracted to disk. What a member is comes from its name (``member_kind``); a name still being
written (``is_temporary``) is never a member, here and in the watcher alike. A folder member is read
only as the ordinary file the batch's identity hashed (``docflow.readers.identity``).
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from docflow.readers.identity import BatchChanged, BatchIdentity, FileState, open_regular, open_regular_stream
from docflow.readers.limits import Limits, MiB, size_text
from docflow.records import BatchItem, RejectedItem, SignedPayload

__all__ = [
    "ACCEPTED", "SIGNED_KINDS", "BatchUnreadable", "MemberRejected", "BudgetExceeded", "Entry", "Container", "Budget",
    "member_kind", "is_temporary", "ZipContainer", "open_zip", "Scanned", "open_top", "check_readable", "signed_file",
    "read_detached", "walk", "read_signed_zip",
]

_CHUNK = MiB


_PDF_MAGIC = b"%PDF-"


_KINDS = {
    ".edxml": "edxml", ".xml": "edxml",
    ".csv": "register", ".jsonl": "register", ".ndjson": "register",
    ".pdf": "pdf", ".p7s": "p7s", ".p7m": "p7m", ".zip": "zip",
}  # fmt: skip


SIGNED_KINDS = {"pdf", "p7s", "p7m"}


TEMP_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".download")


_DRIVE = re.compile(r"^[A-Za-z]:")


ACCEPTED = "expected .edxml, .csv, .jsonl, .pdf, .p7m, a .p7s beside the file it signs, or .zip"


class BatchUnreadable(Exception):
    """The batch as a whole cannot be read (not a zip though named one, empty, nothing docflow reads).

    The only exception ``read_batch`` raises for bad input; ``str()`` is the clerk-readable reason.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MemberRejected(Exception):
    """One member cannot be used; becomes a RejectedItem."""


class BudgetExceeded(Exception):
    """The whole batch unpacks to more than the limit: stop reading it."""


@dataclass(frozen=True)
class Entry:
    name: str
    """Path inside its container, ``/``-separated."""
    size: int
    """Declared (zip header) or on-disk size."""


class Container(Protocol):
    prefix: str
    """Prefix of item names (``inner.zip/`` for a nested zip, empty at the top)."""

    def scan(self) -> tuple[list[Entry], list[RejectedItem]]: ...

    def read(self, entry: Entry, budget: Budget) -> bytes: ...

    def open(self, entry: Entry, budget: Budget | None) -> BinaryIO:
        """The member as a stream, bounded as ``read`` bounds it; ``budget``: None for a pass that does not count."""


class Budget:
    """Counts bytes actually unpacked across the whole batch, since zip headers can lie."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0

    def spend(self, count: int) -> None:
        self.spent += count
        if self.spent > self.limit:
            raise BudgetExceeded


def member_kind(name: str) -> str | None:
    """What a member is by its name: ``edxml``, ``register``, ``pdf``, ``p7s``, ``p7m``, ``zip`` or None."""
    return _KINDS.get(posixpath.splitext(name.lower())[1])


def is_temporary(name: str) -> bool:
    # Half-copied files and editor lock files: the clerk's copy is still in progress.
    lowered = name.lower()
    return name.startswith((".", "~$")) or lowered.endswith(TEMP_SUFFIXES)


def _read_bounded(stream: BinaryIO, limit: int, budget: Budget, too_big: str) -> bytes:
    # BytesIO rather than a list of chunks: joining would briefly hold the member twice.
    buffer = io.BytesIO()
    while chunk := stream.read(_CHUNK):
        if buffer.tell() + len(chunk) > limit:
            raise MemberRejected(too_big)
        budget.spend(len(chunk))
        buffer.write(chunk)
    return buffer.getvalue()


class _BoundedStream(io.RawIOBase):
    """A member's bytes as a stream, held to the same bounds as ``_read_bounded`` (a register is streamed)."""

    def __init__(self, stream: BinaryIO, limit: int, budget: Budget | None, too_big: str,
                 expected_sha256: str | None = None, changed: str = "") -> None:
        self._stream = stream
        self._limit = limit
        self._budget = budget
        self._too_big = too_big
        self._read = 0
        # What is stored must be what was hashed: a streamed member is hashed as it is read, and checked at its end.
        self._expected = expected_sha256
        self._digest = hashlib.sha256() if expected_sha256 is not None else None
        self._changed = changed

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._stream.read(len(buffer))
        # The errors ``ZipContainer.read`` turns into a rejection, met here part-way through the member.
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
                RuntimeError) as error:
            raise MemberRejected(f"it could not be read whole ({error}); the file is damaged — ask for a new copy")
        self._read += len(data)
        if self._read > self._limit:
            raise MemberRejected(self._too_big)
        if self._digest is not None:
            self._digest.update(data)
            if not data and self._digest.hexdigest() != self._expected:
                raise BatchChanged(self._changed)
        if self._budget is not None:
            self._budget.spend(len(data))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


def bounded(stream: BinaryIO, limit: int, budget: Budget | None, too_big: str,
             expected_sha256: str | None = None, changed: str = "") -> BinaryIO:
    raw = _BoundedStream(stream, limit, budget, too_big, expected_sha256, changed)
    return io.BufferedReader(raw, _CHUNK)  # type: ignore[return-value]


def _unsafe_name(name: str) -> str | None:
    """Why a zip member's name is refused, or None."""
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        return f"the name {name!r} contains control characters; the archive may be hostile — ask the sender to re-export"
    path = name.replace("\\", "/")
    if path.startswith("/") or _DRIVE.match(path) or ".." in path.split("/"):
        return (f"its path '{name}' points outside the batch (zip slip); the archive may be hostile — "
                "it was not unpacked; ask the sender to re-export")
    return None


def _member_problem(info: zipfile.ZipInfo, limits: Limits) -> str | None:
    """Why one zip member is refused before reading it, or None."""
    unsafe = _unsafe_name(info.filename)
    if unsafe:
        return unsafe
    if stat.S_ISLNK(info.external_attr >> 16):
        return "it is a symbolic link inside the zip; links are never followed — send the file itself"
    if info.flag_bits & 0x1:
        return "it is password-protected (encrypted) in the zip; send it without a password"
    if info.file_size > limits.max_member_bytes:
        return (f"it unpacks to {size_text(info.file_size)}, over the {size_text(limits.max_member_bytes)} "
                "limit for one file")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > limits.ratio_checked_above_bytes and ratio > limits.max_compression_ratio:
        return (f"it is compressed {ratio:,.0f} times (limit {limits.max_compression_ratio:,.0f}); "
                "this looks like a zip bomb and was not unpacked")
    return None


class ZipContainer:
    def __init__(self, archive: zipfile.ZipFile, prefix: str, limits: Limits) -> None:
        self.archive = archive
        self.prefix = prefix
        self.limits = limits
        self._infos: dict[str, zipfile.ZipInfo] = {}

    def scan(self) -> tuple[list[Entry], list[RejectedItem]]:
        infos = [info for info in self.archive.infolist() if not info.is_dir()]
        whole = self._whole_zip_problem(infos)
        if whole:
            return [], [RejectedItem(self.prefix.rstrip("/") or "the batch zip", whole)]
        entries: list[Entry] = []
        rejected: list[RejectedItem] = []
        for info in sorted(infos, key=lambda i: i.filename):
            name = info.filename
            problem = _member_problem(info, self.limits)
            if problem is None and name in self._infos:
                problem = "the zip holds two files with this name; only the first was read"
            if problem:
                rejected.append(RejectedItem(self.prefix + name, problem))
            elif not is_temporary(posixpath.basename(name)):
                self._infos[name] = info
                entries.append(Entry(name, info.file_size))
        return entries, rejected

    def _whole_zip_problem(self, infos: list[zipfile.ZipInfo]) -> str | None:
        limits = self.limits
        if len(infos) > limits.max_members:
            return f"the zip holds {len(infos):,} files, over the limit of {limits.max_members:,}; nothing in it was read"
        declared = sum(info.file_size for info in infos)
        if declared > limits.max_total_uncompressed_bytes:
            return (f"the zip declares {size_text(declared)} unpacked, over the "
                    f"{size_text(limits.max_total_uncompressed_bytes)} limit (zip bomb?); nothing in it was read")
        return None

    def read(self, entry: Entry, budget: Budget) -> bytes:
        info = self._infos[entry.name]
        lying = "it unpacks to more bytes than the zip header declares; the archive may be hostile"
        try:
            with self.archive.open(info) as stream:
                return _read_bounded(stream, min(info.file_size, self.limits.max_member_bytes), budget, lying)
        # ValueError: a member header offset pointing outside the file ("negative seek value").
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as error:
            raise MemberRejected(f"it could not be unpacked ({error}); the zip is damaged — ask for a new copy")
        except (NotImplementedError, RuntimeError) as error:
            raise MemberRejected(f"it could not be unpacked ({error}); re-create the zip with ordinary compression")

    def open(self, entry: Entry, budget: Budget | None) -> BinaryIO:
        info = self._infos[entry.name]
        lying = "it unpacks to more bytes than the zip header declares; the archive may be hostile"
        try:
            return bounded(self.archive.open(info), min(info.file_size, self.limits.max_member_bytes), budget,
                            lying)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
                RuntimeError) as error:
            raise MemberRejected(f"it could not be unpacked ({error}); the zip is damaged — ask for a new copy")


def open_zip(source: BinaryIO | bytes) -> zipfile.ZipFile | None:
    try:
        return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    # NotImplementedError: a central directory asking for a zip version or feature zipfile lacks.
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None


class _FolderContainer:
    def __init__(self, root: Path, limits: Limits, single: Path | None = None,
                 identity: BatchIdentity | None = None) -> None:
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
                        rejected.append(RejectedItem((here / dirname).relative_to(self.root).as_posix(),
                                                     "it is a symbolic link to a folder; links are never followed"))
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
                data = _read_bounded(stream, self.limits.max_member_bytes, budget, "it grew over the size limit")
        except FileNotFoundError:
            if hashed is not None:
                raise BatchChanged(f"the batch changed while it was being read ('{entry.name}' was deleted)")
            raise MemberRejected("it was deleted while the batch was being read")
        except OSError as error:
            raise MemberRejected(f"it could not be read ({error.strerror or error})")
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
        except FileNotFoundError:
            if hashed is not None:
                raise BatchChanged(f"the batch changed while it was being read ('{entry.name}' was deleted)")
            raise MemberRejected("it was deleted while the batch was being read")
        except OSError as error:
            raise MemberRejected(f"it could not be read ({error.strerror or error})")
        if hashed is not None and not hashed.matches(status):
            stream.close()
            raise BatchChanged(changed)
        expected = hashed.sha256 if hashed is not None and budget is not None else None
        return bounded(stream, self.limits.max_member_bytes, budget, "it grew over the size limit", expected, changed)


class Scanned:
    """A container whose scan already ran (read_batch checks it before streaming)."""

    def __init__(self, container: Container, entries: list[Entry], rejected: list[RejectedItem]) -> None:
        self.container = container
        self.prefix = container.prefix
        self._scan = (entries, rejected)

    def scan(self) -> tuple[list[Entry], list[RejectedItem]]:
        return self._scan

    def read(self, entry: Entry, budget: Budget) -> bytes:
        return self.container.read(entry, budget)

    def open(self, entry: Entry, budget: Budget | None) -> BinaryIO:
        return self.container.open(entry, budget)


def open_top(path: Path, limits: Limits, identity: BatchIdentity | None, opened: ExitStack
              ) -> tuple[Container, int]:
    if path.is_symlink():
        raise BatchUnreadable("the batch is a symbolic link; links are never followed — drop the files themselves")
    if path.is_dir():
        total = identity.size if identity is not None else sum(
            f.lstat().st_size for f in path.rglob("*") if not f.is_symlink() and f.is_file())
        _check_size(total, limits)
        return _FolderContainer(path, limits, identity=identity), 0
    if not path.is_file():
        raise BatchUnreadable("the batch is neither a file nor a folder")
    size = path.stat().st_size
    if size == 0:
        raise BatchUnreadable("the batch file is empty")
    _check_size(size, limits)
    if member_kind(path.name) != "zip":
        return _FolderContainer(path.parent, limits, single=path, identity=identity), 0
    archive = open_zip(_open_pinned(path, identity, opened))
    if archive is None:
        raise BatchUnreadable("the file is named .zip but is not a readable zip archive; ask the sender to re-create it")
    opened.enter_context(archive)
    return ZipContainer(archive, "", limits), 1


def _open_pinned(path: Path, identity: BatchIdentity | None, opened: ExitStack) -> BinaryIO:
    """The batch file, opened once for all its members; with ``identity``, the very file that was hashed."""
    try:
        stream, status = opened.enter_context(open_regular(path))
    except FileNotFoundError:
        if identity is None:
            raise BatchUnreadable("the batch file was deleted before it could be read")
        raise BatchChanged("the batch changed while it was being read (it was deleted)")
    except OSError as error:
        raise BatchUnreadable(f"the batch file could not be read ({error.strerror or error})")
    hashed = identity.file(path.name) if identity is not None else None
    if identity is not None and (hashed is None or not hashed.matches(status)):
        raise BatchChanged("the batch changed while it was being read (it was replaced or rewritten)")
    return stream


def _check_size(size: int, limits: Limits) -> None:
    if size > limits.max_batch_bytes:
        raise BatchUnreadable(f"the batch is {size_text(size)}, over the {size_text(limits.max_batch_bytes)} "
                              "limit; split it into smaller batches")


def check_readable(path: Path, entries: list[Entry], rejected: list[RejectedItem]) -> None:
    if rejected:
        return
    if not entries:
        raise BatchUnreadable("the batch is empty: it holds no files")
    if all(member_kind(entry.name) is None for entry in entries):
        shown = ", ".join(entry.name for entry in entries[:5])
        raise BatchUnreadable(f"the batch holds no file docflow reads ({shown}); {ACCEPTED}")


def signed_file(name: str, kind: str | None, data: bytes) -> BatchItem:
    if kind == "p7m":
        return SignedPayload(name, data, kind="cms-attached")
    # PDF readers accept up to 1 KiB of junk before the header; so do we.
    if _PDF_MAGIC in data[:1024]:
        return SignedPayload(name, data, kind="pdf")
    if kind == "pdf":
        return RejectedItem(name, "it is named .pdf but is not a PDF file; ask the sender to re-export it")
    return RejectedItem(name, f"docflow does not read this kind of file ({ACCEPTED})")


def read_detached(container: Container, entry: Entry, by_lower: dict[str, Entry], budget: Budget) -> BatchItem:
    """A ``.p7s`` member with the member it signs (named without ``.p7s``), or why it cannot be read."""
    content_name = entry.name[: -len(".p7s")]
    content = by_lower.get(content_name.lower())
    if content is None:
        return RejectedItem(container.prefix + entry.name,
                            f"a detached signature arrived without the file it signs ('{content_name}'); "
                            "send both files together")
    signature = container.read(entry, budget)
    return SignedPayload(container.prefix + entry.name, signature, container.read(content, budget),
                         kind="cms-detached")


ItemsOf = Callable[[Container, Entry, dict[str, Entry]], Iterator[BatchItem]]
"""What one member of a container yields, given the container's members by lower-case name."""


def walk(container: Container, items_of: ItemsOf) -> Iterator[BatchItem]:
    """Every member of ``container`` through ``items_of``; a member it cannot use becomes a RejectedItem."""
    entries, rejected = container.scan()
    yield from rejected
    by_lower = {entry.name.lower(): entry for entry in entries}
    for entry in entries:
        if entry.name.lower() + ".p7s" in by_lower:
            continue  # read together with its detached signature
        try:
            yield from items_of(container, entry, by_lower)
        except MemberRejected as problem:
            yield RejectedItem(container.prefix + entry.name, str(problem))


def read_signed_zip(name: str, data: bytes, limits: Limits, zip_depth: int = 0
                    ) -> tuple[list[SignedPayload], list[RejectedItem]]:
    """The signed files inside a zipped edXML attachment, read with the batch's zip checks."""
    payloads: list[SignedPayload] = []
    rejected: list[RejectedItem] = []
    if zip_depth >= limits.max_zip_depth:
        return [], [RejectedItem(name, f"zips nested more than {limits.max_zip_depth} deep are not opened; "
                                       "send the inner files directly")]
    archive = open_zip(data)
    if archive is None:
        return [], [RejectedItem(name, "it is named .zip but is not a readable zip archive")]
    budget = Budget(limits.max_total_uncompressed_bytes)

    def signed_only(container: Container, entry: Entry, by_lower: dict[str, Entry]) -> Iterator[BatchItem]:
        kind = member_kind(entry.name)
        if kind not in SIGNED_KINDS:
            yield RejectedItem(container.prefix + entry.name,
                               "it is neither a PDF nor a signature file, so its signatures were not checked")
        elif kind == "p7s":
            yield read_detached(container, entry, by_lower, budget)
        else:
            yield signed_file(container.prefix + entry.name, kind, container.read(entry, budget))

    try:
        with archive:
            for item in walk(ZipContainer(archive, name + "/", limits), signed_only):
                (payloads if isinstance(item, SignedPayload) else rejected).append(item)  # type: ignore[arg-type]
    except BudgetExceeded:
        rejected.append(RejectedItem(name, "the attachment unpacks to too many bytes (zip bomb?)"))
    return payloads, rejected
