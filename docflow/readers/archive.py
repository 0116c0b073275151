"""What every container a batch comes in shares, and the rules for their members.

Names are checked first (a zip's central directory, a folder's listing), then members are read one
at a time, each bounded by ``Limits`` and by the batch's ``Budget`` of unpacked bytes; nothing is
extracted to disk. What a member is comes from its name (``member_kind``); a name still being
written (``is_temporary``) is never a member, here and in the watcher alike. The containers themselves
are ``docflow.readers.zipfiles`` (a zip, nested or not) and ``docflow.readers.folders`` (a folder or a
single file, and ``open_top``, which picks the container for a batch).
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Protocol, cast

from docflow.readers.identity import BatchChanged
from docflow.readers.limits import MiB
from docflow.records import BatchItem, RejectedItem, SignedPayload

__all__ = [
    "DAMAGED_MEMBER_ERRORS",
    "ACCEPTED",
    "SIGNED_KINDS",
    "BatchUnreadable",
    "MemberRejected",
    "BudgetExceeded",
    "Entry",
    "Container",
    "Budget",
    "member_kind",
    "is_temporary",
    "read_bounded",
    "bounded",
    "Scanned",
    "check_readable",
    "signed_file",
    "read_detached",
    "walk",
]

_CHUNK = MiB


_PDF_MAGIC = b"%PDF-"


_KINDS = {
    ".edxml": "edxml", ".xml": "edxml",
    ".csv": "register", ".txt": "register", ".jsonl": "register", ".ndjson": "register",
    ".pdf": "pdf", ".p7s": "p7s", ".p7m": "p7m", ".zip": "zip",
}  # fmt: skip


SIGNED_KINDS = {"pdf", "p7s", "p7m"}


TEMP_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".download")


ACCEPTED = "expected .edxml, .csv, .txt, .jsonl, .pdf, .p7m, a .p7s beside the file it signs, or .zip"


class BatchUnreadable(Exception):
    """The batch as a whole cannot be read (not a zip though named one, empty, nothing docflow reads).

    The only exception ``read_batch`` raises for bad input; ``str()`` is the clerk-readable reason.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


DAMAGED_MEMBER_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,  # a member header offset pointing outside the file ("negative seek value")
    NotImplementedError,
    RuntimeError,
)
"""What reading a damaged (or oddly compressed) zip member raises, at its start or part-way through."""


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


def read_bounded(stream: IO[bytes], limit: int, budget: Budget, too_big: str) -> bytes:
    # BytesIO rather than a list of chunks: joining would briefly hold the member twice.
    buffer = io.BytesIO()
    while chunk := stream.read(_CHUNK):
        if buffer.tell() + len(chunk) > limit:
            raise MemberRejected(too_big)
        budget.spend(len(chunk))
        buffer.write(chunk)
    return buffer.getvalue()


class _BoundedStream(io.RawIOBase):
    """A member's bytes as a stream, held to the same bounds as ``read_bounded`` (a register is streamed)."""

    def __init__(
        self,
        stream: IO[bytes],
        limit: int,
        budget: Budget | None,
        too_big: str,
        expected_sha256: str | None = None,
        changed: str = "",
    ) -> None:
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
        except DAMAGED_MEMBER_ERRORS as error:
            raise MemberRejected(
                f"it could not be read whole ({error}); the file is damaged — ask for a new copy"
            ) from error
        self._read += len(data)
        if self._read > self._limit:
            raise MemberRejected(self._too_big)
        if self._digest is not None:
            self._digest.update(data)
            if not data and self._digest.hexdigest() != self._expected:
                raise BatchChanged(self._changed)
        if self._budget is not None:
            self._budget.spend(len(data))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


def bounded(
    stream: IO[bytes],
    limit: int,
    budget: Budget | None,
    too_big: str,
    expected_sha256: str | None = None,
    changed: str = "",
) -> BinaryIO:
    raw = _BoundedStream(stream, limit, budget, too_big, expected_sha256, changed)
    return cast(BinaryIO, io.BufferedReader(raw, _CHUNK))


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
        return RejectedItem(
            container.prefix + entry.name,
            f"a detached signature arrived without the file it signs ('{content_name}'); send both files together",
        )
    signature = container.read(entry, budget)
    return SignedPayload(container.prefix + entry.name, signature, container.read(content, budget), kind="cms-detached")


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
