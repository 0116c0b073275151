"""Which form fields a signature locks (FieldMDP, ISO 32000-1 §12.8.2.4), read from its signature dictionary."""

from __future__ import annotations

import re
from collections.abc import Callable

from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from signatures.pdf import PdfSignature
from signatures.pdfvalues import array, object_at, resolve

__all__ = ["field_lock"]

_INDIRECT_REFERENCE = re.compile(rb"/Reference\s*(?:\d+\s+\d+\s+R|\[[^\]]*?\d+\s+\d+\s+R)")
"""A signature's /Reference array, or an entry of it, written as an object of its own."""


def field_lock(data: bytes, reader: PdfReader, signature: PdfSignature) -> Callable[[str], bool] | None:
    """Which fields the signature's FieldMDP transform (ISO 32000-1 §12.8.2.4) locks, by full name; None if none."""
    if signature.object_number is None or signature.problem is not None or not _may_lock(data, reader, signature):
        return None
    try:
        value = object_at(reader, signature.object_number)
        references = array(value.get("/Reference")) if isinstance(value, DictionaryObject) else []
        for reference in map(resolve, references):
            if isinstance(reference, DictionaryObject) and reference.get("/TransformMethod") == "/FieldMDP":
                params = resolve(reference.get("/TransformParams"))
                if isinstance(params, DictionaryObject):
                    return _lock(
                        str(params.get("/Action", "")), [str(resolve(name)) for name in array(params.get("/Fields"))]
                    )
    except Exception:  # noqa: BLE001 - an unreadable transform locks nothing beyond what the classes already judge
        return None
    return None


def _may_lock(data: bytes, reader: PdfReader, signature: PdfSignature) -> bool:
    """Whether the signature dictionary's own bytes name a FieldMDP transform or refer to its /Reference entries
    elsewhere: pypdf parses a /Contents string slowly, so the dictionary is parsed only then."""
    number = signature.object_number
    start = next((table[number] for table in reader.xref.values() if number in table), None)
    end = data.find(b"endobj", start) if isinstance(start, int) else -1
    if not isinstance(start, int) or end < 0:
        return True  # not where the xref says: let pypdf find it
    gap_start, gap_end = signature.byte_range[1], signature.byte_range[2]
    # The /Contents hex string (the byte range's gap) cannot hold a name: only the rest is searched.
    text = data[start:gap_start] + data[gap_end:end] if start < gap_start < gap_end < end else data[start:end]
    return b"/FieldMDP" in text or _INDIRECT_REFERENCE.search(text) is not None


def _lock(action: str, names: list[str]) -> Callable[[str], bool] | None:
    def listed(name: str) -> bool:  # a listed field locks its descendants too
        return any(name == listed or name.startswith(listed + ".") for listed in names)

    if action == "/All":
        return lambda name: True
    if action == "/Include":
        return listed
    if action == "/Exclude":
        return lambda name: not listed(name)
    return None
