"""Reading a clerk's batch — one file, a folder, or a zip — as a stream of batch records.

``docflow.readers.folders`` and ``docflow.readers.zipfiles`` open the containers and read their
members; here each member becomes records by its kind: edXML packages, register exports, signed files, nested zips.
Hostile or broken parts become ``RejectedItem``s alongside the good items; only a batch
unreadable as a whole raises ``BatchUnreadable``.

Pairing of register rows with the signed files they name is a join by name: a record
carries ``payload_names`` (resolved here to names within the batch) and each signed file
is yielded as a bare ``SignedPayload`` under that name; ingestion joins them. So at most
one member (two for a ``.p7s`` and the file it signs) is in memory at a time.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from docflow.readers.archive import (
    Budget,
    BudgetExceeded,
    Container,
    Entry,
    Scanned,
    check_readable,
    member_kind,
    read_detached,
    signed_file,
    walk,
)
from docflow.readers.edxml import read_edxml
from docflow.readers.folders import open_top
from docflow.readers.identity import BatchIdentity
from docflow.readers.limits import Limits, size_text
from docflow.readers.register import RegisterOpener, stream_register
from docflow.readers.zipfiles import ZipContainer, open_zip
from docflow.records import BatchItem, DocumentRecord, RejectedItem

__all__ = ["read_batch"]


class _Reader:
    """Turns the entries of one batch into batch items; one per batch (it holds the byte budget)."""

    def __init__(self, limits: Limits, columns: Mapping[str, str] | None) -> None:
        self.limits = limits
        self.columns = columns
        self.budget = Budget(limits.max_total_uncompressed_bytes)

    def walk(self, container: Container, depth: int) -> Iterator[BatchItem]:
        return walk(container, lambda inner, entry, by_lower: self._items(inner, entry, by_lower, depth))

    def _items(self, container: Container, entry: Entry, by_lower: dict[str, Entry], depth: int) -> Iterator[BatchItem]:
        kind = member_kind(entry.name)
        name = container.prefix + entry.name
        if kind == "edxml":
            yield from read_edxml(name, container.read(entry, self.budget), self.limits, zip_depth=depth)
        elif kind == "register":
            records = stream_register(name, self._register_opener(container, entry), self.columns, self.limits)
            yield from _resolve_references(records, container.prefix, entry.name, by_lower)
        elif kind == "zip":
            yield from self._nested(
                name, container.read(entry, self.budget) if depth < self.limits.max_zip_depth else None, depth
            )
        elif kind == "p7s":
            yield read_detached(container, entry, by_lower, self.budget)
        else:
            yield signed_file(name, kind, container.read(entry, self.budget))

    def _register_opener(self, container: Container, entry: Entry) -> RegisterOpener:
        """A register is streamed (twice: its encoding, then its rows); its bytes count once in the budget."""

        def opened(counted: bool) -> BinaryIO:
            return container.open(entry, self.budget if counted else None)

        return opened

    def _nested(self, name: str, data: bytes | None, depth: int) -> Iterator[BatchItem]:
        if data is None:
            yield RejectedItem(
                name,
                f"zips nested more than {self.limits.max_zip_depth} deep are not opened; send the inner files directly",
            )
            return
        archive = open_zip(data)
        if archive is None:
            yield RejectedItem(name, "it is named .zip but is not a readable zip archive")
            return
        with archive:
            yield from self.walk(ZipContainer(archive, name + "/", self.limits), depth + 1)


def _resolve_references(
    records: Iterator[BatchItem], prefix: str, register_name: str, by_lower: dict[str, Entry]
) -> Iterator[BatchItem]:
    """Point each row's ``file`` at the signed file's name within the batch."""
    folder = posixpath.dirname(register_name)
    for item in records:
        if not isinstance(item, DocumentRecord) or not item.payload_names:
            yield item
            continue
        resolved: list[str] = []
        for reference in item.payload_names:
            entry = _find_reference(reference, folder, by_lower)
            if entry is None:
                yield RejectedItem(
                    item.item_name,
                    f"it names the signed file '{reference}', which is not in the "
                    "batch; the document was recorded without it",
                )
            else:
                resolved.append(prefix + entry.name)
        yield replace(item, payload_names=tuple(resolved))


def _find_reference(reference: str, folder: str, by_lower: dict[str, Entry]) -> Entry | None:
    wanted = reference.replace("\\", "/").strip().lstrip("/")
    candidates = [posixpath.normpath(posixpath.join(folder, wanted)), posixpath.normpath(wanted)]
    for candidate in candidates:
        # A file listed by name whose signature is detached is delivered as its .p7s.
        for name in (candidate + ".p7s", candidate):
            if name.lower() in by_lower:
                return by_lower[name.lower()]
    base = posixpath.basename(wanted).lower()
    matches = [entry for key, entry in by_lower.items() if posixpath.basename(key) in (base, base + ".p7s")]
    return matches[0] if len(matches) == 1 else None


def read_batch(
    path: Path,
    limits: Limits = Limits(),
    columns: Mapping[str, str] | None = None,
    identity: BatchIdentity | None = None,
) -> Iterator[BatchItem]:
    """Stream the items of a batch (file, folder or zip).

    Raises ``BatchUnreadable`` (on first iteration) only when the batch as a whole cannot be
    read; everything partially bad comes out as ``RejectedItem``s. With ``identity``, every byte
    read must be of the files as they were hashed, else ``BatchChanged`` is raised.
    """
    path = Path(path)
    with ExitStack() as opened:
        container, depth = open_top(path, limits, identity, opened)
        entries, rejected = container.scan()
        check_readable(path, entries, rejected)
        reader = _Reader(limits, columns)
        try:
            yield from reader.walk(Scanned(container, entries, rejected), depth)
        except BudgetExceeded:
            yield RejectedItem(
                path.name,
                f"reading stopped: the batch unpacks to more than "
                f"{size_text(limits.max_total_uncompressed_bytes)} (zip bomb?); "
                "the items before this point were kept",
            )
