"""Values of a pypdf reader made comparable and walkable: what the change classifier reads PDF objects with.

Two readers of one file (the signed revision and the whole file) give distinct Python objects for one PDF
object; these helpers compare them by what the file says, and bound every walk, as hostile files loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

__all__ = ["MAX_DEPTH", "array", "canonical", "children", "differing_keys", "numbers", "object_at", "resolve", "walk"]

_MAX_WALK = 20_000
MAX_DEPTH = 40
_WRITER_MARKS = frozenset({"/ITXT"})
"""Entries a PDF library stamps on objects it saves (iText's version on the page tree), shown nowhere."""


def object_at(reader: PdfReader, number: int) -> object | None:
    for generation, table in reader.xref.items():
        if number in table:
            return reader.get_object(IndirectObject(number, generation, reader))
    return reader.get_object(IndirectObject(number, 0, reader)) if number in reader.xref_objStm else None


def walk(start: list[object], children: Callable[[object], list[object]]) -> Iterator[tuple[int | None, object]]:
    """(object number or None when direct, resolved value) of everything reachable, each indirect object once
    and at most ``_MAX_WALK`` of them: hostile files loop."""
    pending: list[object] = list(start)
    seen: set[int] = set()
    while pending and len(seen) < _MAX_WALK:
        item = pending.pop()
        number = item.idnum if isinstance(item, IndirectObject) else None
        if number is not None:
            if number in seen:
                continue
            seen.add(number)
        value = resolve(item)
        yield number, value
        pending.extend(children(value))


def children(value: object) -> list[object]:
    if isinstance(value, DictionaryObject):
        return [value.raw_get(key) for key in value]
    return list(value) if isinstance(value, ArrayObject) else []


def differing_keys(old: DictionaryObject, new: DictionaryObject) -> list[str]:
    return [
        str(key)
        for key in (set(old) | set(new)) - _WRITER_MARKS
        if key not in old or key not in new or canonical(old.raw_get(key)) != canonical(new.raw_get(key))
    ]


def canonical(value: object, depth: int = 0) -> object:
    """A value comparable across two readers: references by number, strings by their bytes."""
    if depth > MAX_DEPTH:
        return ("too deep",)
    if isinstance(value, IndirectObject):
        return ("ref", value.idnum, value.generation)
    if isinstance(value, StreamObject):
        return ("stream", canonical(DictionaryObject(value), depth + 1), value._data)  # noqa: SLF001
    if isinstance(value, DictionaryObject):
        return tuple(sorted((str(key), canonical(value.raw_get(key), depth + 1)) for key in value))
    if isinstance(value, ArrayObject):
        return tuple(canonical(item, depth + 1) for item in value)
    if isinstance(value, TextStringObject):
        return ("string", value.original_bytes)
    if isinstance(value, ByteStringObject):
        return ("string", bytes(value))
    if isinstance(value, NameObject):
        return ("name", str(value))
    if isinstance(value, (NumberObject, FloatObject)):
        return ("number", float(value))  # 612 and 612.0 are one coordinate
    return (type(value).__name__, str(value))


def numbers(container: DictionaryObject, key: str) -> list[int]:
    """The object number ``key`` refers to, when it is a reference."""
    value = container.raw_get(key) if key in container else None
    return [value.idnum] if isinstance(value, IndirectObject) else []


def _key(item: object) -> object:
    return canonical(item)


def resolve(value: object) -> object:
    return value.get_object() if isinstance(value, IndirectObject) else value


def array(value: object) -> list[object]:
    value = resolve(value)
    return list(value) if isinstance(value, ArrayObject) else []
