"""Who refers to what in a signed revision: the roles (appearance, DSS, XMP, annotation) an object may be trusted in.

An object replaced after a signature is judged by what it was when signed; a role counts only when every
reference to the object in the signed revision is in that role, as a content stream that doubles as an
appearance or a DSS entry is content (pyHanko's "sneaky" files).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from signatures.pdfvalues import MAX_DEPTH, children, numbers, resolve, walk

__all__ = ["Edge", "Roles"]

_APPEARANCE_KEYS = ("/N", "/R", "/D")
_ANNOTATION_LINKS = frozenset({"/Annots", "/Popup", "/IRT", "/Parent", "/Obj"})
"""Keys through which one annotation may be reached from a page, another annotation or the structure tree."""
_MAX_REFERENCES = 200_000
"""Objects read to find who refers to what in a signed revision; beyond it, sharing cannot be ruled out."""


@dataclass(frozen=True)
class Edge:
    """One reference in the signed revision: from object ``holder`` (None: the trailer) through ``path`` (keys,
    "[]" for an array element) inside that object's own direct value."""

    holder: int | None
    path: tuple[str, ...]


class Roles:
    """What the signed revision's objects are and who refers to them, each found when first needed (walking the
    whole revision is the costly one, and most updates never need it)."""

    def __init__(self, old: PdfReader) -> None:
        self.old = old
        catalog = resolve(old.trailer.get("/Root"))
        self.catalog = catalog if isinstance(catalog, DictionaryObject) else DictionaryObject()
        root = old.trailer.raw_get("/Root") if "/Root" in old.trailer else None
        self.catalog_number = root.idnum if isinstance(root, IndirectObject) else None

    @cached_property
    def _references(self) -> dict[int, list[Edge]] | None:
        return _references(self.old.trailer)

    def referrers(self, number: int) -> list[Edge] | None:
        """Every reference to object ``number`` in the signed revision; None when the file is too large to tell."""
        references = self._references
        return None if references is None else references.get(number, [])

    def referred(self, number: int) -> bool:
        return self.referrers(number) != []

    def shared(self, number: int) -> bool:
        """Whether object ``number`` is referred to other than exactly once (or the file is too large to tell)."""
        edges = self.referrers(number)
        return edges is None or len(edges) != 1

    def _only(self, number: int, allowed: Callable[[Edge], bool]) -> bool:
        edges = self.referrers(number)
        if not edges:
            return False
        return all(allowed(edge) for edge in edges)

    def only_under(self, number: int, key: str) -> bool:
        """Referred to only as the value of ``key`` (directly, not inside an array or dictionary)."""
        return self._only(number, lambda edge: edge.path == (key,))

    def only_as_metadata(self, number: int) -> bool:
        return number in self.metadata and self._only(number, lambda edge: edge.path[-1:] == ("/Metadata",))

    def only_as_annotation(self, number: int) -> bool:
        return self._only(
            number,
            lambda edge: (
                bool(edge.path)
                and (edge.path[0] in _ANNOTATION_LINKS or (edge.path == ("[]",) and edge.holder in self.annots_arrays))
            ),
        )

    @cached_property
    def dss(self) -> set[int]:
        start = [self.catalog.raw_get("/DSS")] if "/DSS" in self.catalog else []
        return {number for number, _ in walk(start, children) if number is not None}

    @cached_property
    def dss_only(self) -> set[int]:
        """DSS objects nothing outside the DSS refers to, even through another (an entry naming a page's content
        stream, or the page itself, does not make them validation data)."""
        if not self.dss:
            return set()
        inside = set(self.dss)
        changed = True
        while changed:
            changed = False
            for number in list(inside):
                if not self._only_within(number, inside):
                    inside.discard(number)
                    changed = True
        return inside

    def _only_within(self, number: int, inside: set[int]) -> bool:
        """Whether every reference to ``number`` comes from ``inside`` or is the catalog's /DSS entry."""
        edges = self.referrers(number)
        if edges is None:
            return False
        return all(
            edge.holder in inside or (edge.holder == self.catalog_number and edge.path == ("/DSS",)) for edge in edges
        )

    @cached_property
    def metadata(self) -> set[int]:
        return set(numbers(self.catalog, "/Metadata"))

    @cached_property
    def extensions(self) -> set[int]:
        return set(numbers(self.catalog, "/Extensions"))

    def appearance_owner(self, number: int) -> int | None:
        """The widget whose appearance stream ``number`` is, when that is its only use (and its appearance
        dictionary's, when that is an object of its own)."""
        edges = self.referrers(number)
        if not edges or len(edges) != 1:
            return None
        holder, path = edges[0].holder, edges[0].path
        if len(path) in (2, 3) and path[0] == "/AP" and path[1] in _APPEARANCE_KEYS:
            return holder
        if len(path) in (1, 2) and path[0] in _APPEARANCE_KEYS and holder is not None:
            owners = self.referrers(holder)
            if owners and len(owners) == 1 and owners[0].path == ("/AP",):
                return owners[0].holder
        return None

    @cached_property
    def annots_arrays(self) -> set[int]:
        found: set[int] = set()
        try:
            for page in self.old.pages:
                found.update(numbers(page, "/Annots"))
        except Exception:  # noqa: BLE001 - a damaged page tree leaves its arrays unrecognised (so: content)
            pass
        return found


def _references(trailer: DictionaryObject) -> dict[int, list[Edge]] | None:
    """Every reference reachable from ``trailer``, by the object referred to; None beyond ``_MAX_REFERENCES``."""
    found: dict[int, list[Edge]] = {}
    seen: set[int] = set()
    pending: list[tuple[int | None, object]] = [(None, trailer)]
    while pending:
        holder, value = pending.pop()
        for path, target in _references_in(value, ()):
            found.setdefault(target.idnum, []).append(Edge(holder, path))
            if target.idnum not in seen:
                if len(seen) >= _MAX_REFERENCES:
                    return None
                seen.add(target.idnum)
                try:
                    pending.append((target.idnum, target.get_object()))
                except Exception:  # noqa: BLE001 - an unreadable object refers to nothing
                    continue
    return found


def _references_in(value: object, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], IndirectObject]]:
    """The references inside one object's direct value, with the keys leading to each."""
    if isinstance(value, IndirectObject):
        yield path, value
    elif len(path) > MAX_DEPTH:
        return
    elif isinstance(value, DictionaryObject):
        for key in value:
            yield from _references_in(value.raw_get(key), (*path, str(key)))
    elif isinstance(value, ArrayObject):
        for item in value:
            yield from _references_in(item, (*path, "[]"))
