"""A zip as a container: its names checked from the central directory, its members unpacked one at a time.

Nothing is extracted to disk; a member is refused before it is read when its name, its flags or its
declared sizes say it is hostile (zip slip, links, encryption, zip bombs).
"""

from __future__ import annotations

import io
import posixpath
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from docflow.readers.archive import (
    DAMAGED_MEMBER_ERRORS,
    SIGNED_KINDS,
    Budget,
    BudgetExceeded,
    Container,
    Entry,
    MemberRejected,
    bounded,
    is_temporary,
    member_kind,
    read_bounded,
    read_detached,
    signed_file,
    walk,
)
from docflow.readers.limits import Limits, size_text
from docflow.records import BatchItem, RejectedItem, SignedPayload

__all__ = ["ZipContainer", "open_zip", "read_signed_zip"]

_DRIVE = re.compile(r"^[A-Za-z]:")


def _unsafe_name(name: str) -> str | None:
    """Why a zip member's name is refused, or None."""
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        return (
            f"the name {name!r} contains control characters; the archive may be hostile — ask the sender to re-export"
        )
    path = name.replace("\\", "/")
    if path.startswith("/") or _DRIVE.match(path) or ".." in path.split("/"):
        return (
            f"its path '{name}' points outside the batch (zip slip); the archive may be hostile — "
            "it was not unpacked; ask the sender to re-export"
        )
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
        return (
            f"it unpacks to {size_text(info.file_size)}, over the {size_text(limits.max_member_bytes)} "
            "limit for one file"
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > limits.ratio_checked_above_bytes and ratio > limits.max_compression_ratio:
        return (
            f"it is compressed {ratio:,.0f} times (limit {limits.max_compression_ratio:,.0f}); "
            "this looks like a zip bomb and was not unpacked"
        )
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
            return (
                f"the zip holds {len(infos):,} files, over the limit of {limits.max_members:,}; nothing in it was read"
            )
        declared = sum(info.file_size for info in infos)
        if declared > limits.max_total_uncompressed_bytes:
            return (
                f"the zip declares {size_text(declared)} unpacked, over the "
                f"{size_text(limits.max_total_uncompressed_bytes)} limit (zip bomb?); nothing in it was read"
            )
        return None

    def read(self, entry: Entry, budget: Budget) -> bytes:
        info = self._infos[entry.name]
        lying = "it unpacks to more bytes than the zip header declares; the archive may be hostile"
        try:
            with self.archive.open(info) as stream:
                return read_bounded(stream, min(info.file_size, self.limits.max_member_bytes), budget, lying)
        # ValueError: a member header offset pointing outside the file ("negative seek value").
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as error:
            raise MemberRejected(
                f"it could not be unpacked ({error}); the zip is damaged — ask for a new copy"
            ) from error
        except (NotImplementedError, RuntimeError) as error:
            raise MemberRejected(
                f"it could not be unpacked ({error}); re-create the zip with ordinary compression"
            ) from error

    def open(self, entry: Entry, budget: Budget | None) -> BinaryIO:
        info = self._infos[entry.name]
        lying = "it unpacks to more bytes than the zip header declares; the archive may be hostile"
        try:
            return bounded(self.archive.open(info), min(info.file_size, self.limits.max_member_bytes), budget, lying)
        except DAMAGED_MEMBER_ERRORS as error:
            raise MemberRejected(
                f"it could not be unpacked ({error}); the zip is damaged — ask for a new copy"
            ) from error


def open_zip(source: BinaryIO | bytes) -> zipfile.ZipFile | None:
    try:
        return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    # NotImplementedError: a central directory asking for a zip version or feature zipfile lacks.
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None


def read_signed_zip(
    name: str, data: bytes, limits: Limits, zip_depth: int = 0
) -> tuple[list[SignedPayload], list[RejectedItem]]:
    """The signed files inside a zipped edXML attachment, read with the batch's zip checks."""
    payloads: list[SignedPayload] = []
    rejected: list[RejectedItem] = []
    if zip_depth >= limits.max_zip_depth:
        return [], [
            RejectedItem(
                name, f"zips nested more than {limits.max_zip_depth} deep are not opened; send the inner files directly"
            )
        ]
    archive = open_zip(data)
    if archive is None:
        return [], [RejectedItem(name, "it is named .zip but is not a readable zip archive")]
    budget = Budget(limits.max_total_uncompressed_bytes)

    def signed_only(container: Container, entry: Entry, by_lower: dict[str, Entry]) -> Iterator[BatchItem]:
        kind = member_kind(entry.name)
        if kind not in SIGNED_KINDS:
            yield RejectedItem(
                container.prefix + entry.name,
                "it is neither a PDF nor a signature file, so its signatures were not checked",
            )
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
