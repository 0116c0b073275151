"""What changed in a PDF after each signature: its later incremental updates, classified.

A signature covers the file as it was when signed (its revision). Later updates may add validation
data, fill forms, sign again, add comments, or change what the signed pages show. Each object the
later xref sections replace is judged by what it was in the signed revision, which the signer
vouched for; objects only new updates add matter solely through what refers to them. The classes
(``Modification``) and the rule (``permitted``) are documented in docs/signatures.md.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

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

from signatures.pdf import DOCUMENT_TIMESTAMP, PdfSignature
from signatures.verdict import CheckName, CheckOutcome, Modification, Verdict

__all__ = ["ORDER", "Changes", "analyse_changes", "certification_level", "permitted", "changes_permitted", "describe"]

ORDER: tuple[Modification, ...] = (
    Modification.NONE, Modification.LTV, Modification.FORM_FILLING, Modification.ANNOTATIONS, Modification.OTHER,
)
_RANK = {level: rank for rank, level in enumerate(ORDER)}
_DOCMDP_ALLOWS = {1: Modification.LTV, 2: Modification.FORM_FILLING, 3: Modification.ANNOTATIONS}
"""ISO 32000-1 Table 254 /P; PAdES (ETSI EN 319 142-1 §5.4) lets validation data follow even /P 1."""
_TRAILING_NOISE = b" \t\r\n\x00"
_MAX_WALK = 20_000
_MAX_DEPTH = 40
_MAX_REVISIONS = 64
"""Signed revisions compared per file; each costs a parse of the file up to it, so a hostile file with
thousands of signatures would cost thousands of parses. Those beyond are reported ``other`` (unchecked)."""

_CATALOG_LTV_KEYS = frozenset({"/DSS", "/Extensions", "/Version", "/Metadata"})
"""Catalog entries LTV tools write: the DSS, the ESIC extension and version it requires, XMP metadata."""
_INFO_LTV_KEYS = frozenset({"/ModDate", "/Producer"})
_FORM_KEYS = frozenset({"/V", "/AP", "/AS", "/MK"})
_ACROFORM_KEYS = frozenset({"/SigFlags", "/DR", "/DA", "/NeedAppearances"})
_WIDGET = "/Widget"
_APPEARANCE_KEYS = ("/N", "/R", "/D")
_HIDING_FLAGS = 1 | 2 | 32 | 256
"""Annotation /F bits that decide whether a widget is shown (Invisible, Hidden, NoView, ToggleNoView);
the others (Print, Locked …) may change when a field is signed, as Acrobat locks the field it signs."""
_ANNOTATION_LINKS = frozenset({"/Annots", "/Popup", "/IRT", "/Parent", "/Obj"})
"""Keys through which one annotation may be reached from a page, another annotation or the structure tree."""
_INDIRECT_REFERENCE = re.compile(rb"/Reference\s*(?:\d+\s+\d+\s+R|\[[^\]]*?\d+\s+\d+\s+R)")
"""A signature's /Reference array, or an entry of it, written as an object of its own."""
_MAX_REFERENCES = 200_000
"""Objects read to find who refers to what in a signed revision; beyond it, sharing cannot be ruled out."""
_WRITER_MARKS = frozenset({"/ITXT"})
"""Entries a PDF library stamps on objects it saves (iText's version on the page tree), shown nowhere."""


@dataclass(frozen=True)
class Changes:
    """What followed each signature (same order as given) and the certification's DocMDP level, if any."""

    after: tuple[Modification, ...]
    docmdp: int | None


def describe(modification: Modification) -> str:
    """The class in words, for the verify table and reasons."""
    return {
        Modification.NONE: "nothing",
        Modification.LTV: "validation data only",
        Modification.FORM_FILLING: "form filling or signing",
        Modification.ANNOTATIONS: "comments or annotations",
        Modification.OTHER: "pages, content or other parts",
    }[modification]


def permitted(modification: Modification, *, last: bool, docmdp: int | None) -> bool:
    """The one rule for ``docflow verify`` and ingest: may this change follow this signature?

    After the last signature only validation data may follow (what the document shows must be what
    was signed); between signatures, signing and form filling and annotations as ISO 32000-1 allows
    approval signatures; a certification's /P narrows or widens that for every signature after it.
    Pages or content changed after any signature are never permitted.
    """
    if docmdp in _DOCMDP_ALLOWS:
        allowed = _DOCMDP_ALLOWS[docmdp]
    else:
        allowed = Modification.LTV if last else Modification.ANNOTATIONS
    return modification is not Modification.OTHER and _RANK[modification] <= _RANK[allowed]


def changes_permitted(verdict: Verdict) -> bool | None:
    """Whether ``permitted`` allowed what followed this signature; None when nothing was analysed (not a PDF,
    or a signature whose byte range is unusable)."""
    check = verdict.check(CheckName.MODIFICATION)
    return None if check is None else check.outcome is CheckOutcome.PASSED


def analyse_changes(
    data: bytes, reader: PdfReader, signatures: Sequence[PdfSignature], timestamps: Sequence[PdfSignature] = ()
) -> Changes:
    """Classify what follows each signature's revision. Only files with bytes after a revision are parsed
    again, so a file signed once and left alone costs nothing here."""
    # pypdf decodes a /Contents string slowly: signature dictionaries already found are known by number.
    known = {sig.object_number: Modification.FORM_FILLING for sig in signatures if sig.object_number is not None}
    known.update({sig.object_number: Modification.LTV for sig in timestamps if sig.object_number is not None})
    cache: dict[int, tuple[Modification, frozenset[str]]] = {}
    after = []
    for signature in signatures:
        end = signature.signed_bytes()
        if end is None or data[end:].strip(_TRAILING_NOISE) == b"":
            after.append(Modification.NONE)
            continue
        if end not in cache:
            within = len(cache) < _MAX_REVISIONS
            cache[end] = _classify_revision(data[:end], reader, known) if within else (Modification.OTHER, frozenset())
        level, fields = cache[end]
        locked = _field_lock(data, reader, signature)
        # A field this signature locked (FieldMDP) changed after it: its value is part of what was signed.
        after.append(Modification.OTHER if locked is not None and any(map(locked, fields)) else level)
    return Changes(tuple(after), certification_level(reader, signatures))


def _field_lock(data: bytes, reader: PdfReader, signature: PdfSignature) -> Callable[[str], bool] | None:
    """Which fields the signature's FieldMDP transform (ISO 32000-1 §12.8.2.4) locks, by full name; None if none."""
    if signature.object_number is None or signature.problem is not None or not _may_lock(data, reader, signature):
        return None
    try:
        value = _object_at(reader, signature.object_number)
        references = _array(value.get("/Reference")) if isinstance(value, DictionaryObject) else []
        for reference in map(_resolve, references):
            if isinstance(reference, DictionaryObject) and reference.get("/TransformMethod") == "/FieldMDP":
                params = _resolve(reference.get("/TransformParams"))
                if isinstance(params, DictionaryObject):
                    return _lock(str(params.get("/Action", "")), [str(_resolve(name)) for name in _array(params.get("/Fields"))])
    except Exception:  # noqa: BLE001 - an unreadable transform locks nothing beyond what the classes already judge
        return None
    return None


def _may_lock(data: bytes, reader: PdfReader, signature: PdfSignature) -> bool:
    """Whether the signature dictionary's own bytes name a FieldMDP transform or refer to its /Reference entries
    elsewhere: pypdf parses a /Contents string slowly, so the dictionary is parsed only then."""
    number = signature.object_number
    start = next((table[number] for table in reader.xref.values() if number in table), None)
    end = data.find(b"endobj", start) if isinstance(start, int) else -1
    if end < 0:
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


def certification_level(reader: PdfReader, signatures: Sequence[PdfSignature]) -> int | None:
    """The DocMDP /P of the first signature when it certifies the document (else None): its own /Reference
    says so, or the catalog's /Perms /DocMDP names it (then /P defaults to 2)."""
    if not signatures:
        return None
    first = signatures[0]
    if first.docmdp is not None:
        return first.docmdp if first.docmdp in _DOCMDP_ALLOWS else 2
    try:
        perms = _resolve(_resolve(reader.trailer["/Root"]).get("/Perms"))
        target = perms.raw_get("/DocMDP") if isinstance(perms, DictionaryObject) and "/DocMDP" in perms else None
    except Exception:  # noqa: BLE001 - a broken /Perms certifies nothing
        return None
    named = isinstance(target, IndirectObject) and first.object_number is not None and target.idnum == first.object_number
    return 2 if named else None


def _classify_revision(
    signed: bytes, new: PdfReader, known: dict[int, Modification]
) -> tuple[Modification, frozenset[str]]:
    """The class of what changed after the revision ``signed``, and the full names of the form fields changed."""
    try:
        old = PdfReader(io.BytesIO(signed), strict=False)
        diff = _Diff(old, new, known)
        return diff.level(), frozenset(diff.changed_fields)
    except Exception:  # noqa: BLE001 - what cannot be compared cannot be called harmless
        return Modification.OTHER, frozenset()


class _Diff:
    """The signed revision (``old``) against the whole file (``new``)."""

    def __init__(self, old: PdfReader, new: PdfReader, known: dict[int, Modification]) -> None:
        self.old, self.new, self.known = old, new, known
        self.found = Modification.NONE
        self.handled: set[int] = set()
        self.freed: set[int] = set()
        self.changed_fields: set[str] = set()

    @cached_property
    def form_members(self) -> set[int]:
        """The fields and widgets of the form in the whole file (from /AcroForm /Fields through /Kids)."""
        catalog = _resolve(self.new.trailer.get("/Root"))
        acroform = _resolve(catalog.get("/AcroForm")) if isinstance(catalog, DictionaryObject) else None
        fields = _array(acroform.get("/Fields")) if isinstance(acroform, DictionaryObject) else []
        return {number for number, _ in _walk(fields, _field_kids) if number is not None}

    def note(self, level: Modification) -> None:
        if _RANK[level] > _RANK[self.found]:
            self.found = level

    def level(self) -> Modification:
        old_root, new_root = self.old.trailer.raw_get("/Root"), self.new.trailer.raw_get("/Root")
        self._catalog(_resolve(old_root), _resolve(new_root))
        self._info()
        changed = _changed_objects(self.old, self.new)
        self.freed = _freed(self.new) - _freed(self.old)
        if changed:
            roles = _Roles(self.old)
            for number in sorted(changed):
                if self.found is Modification.OTHER:
                    break
                if number not in self.handled:
                    self._object(number, roles)
        return self.found

    # -- the catalog and the trailer --------------------------------------------------------------------

    def _catalog(self, old: object, new: object) -> None:
        if not (isinstance(old, DictionaryObject) and isinstance(new, DictionaryObject)):
            self.note(Modification.OTHER)
            return
        self.handled.add(self.old.trailer.raw_get("/Root").idnum)
        for key in _differing_keys(old, new):
            if key != "/AcroForm":
                self.note(Modification.LTV if key in _CATALOG_LTV_KEYS else Modification.OTHER)
        if "/AcroForm" in old or "/AcroForm" in new:
            self._acroform(old, new)

    def _info(self) -> None:
        old = _resolve(self.old.trailer.get("/Info"))
        new = _resolve(self.new.trailer.get("/Info"))
        old = old if isinstance(old, DictionaryObject) else DictionaryObject()
        new = new if isinstance(new, DictionaryObject) else DictionaryObject()
        for key in _differing_keys(old, new):
            self.note(Modification.LTV if key in _INFO_LTV_KEYS else Modification.OTHER)
        self.handled.update(_numbers(self.old.trailer, "/Info"))

    # -- forms ---------------------------------------------------------------------------------------

    def _acroform(self, old_catalog: DictionaryObject, new_catalog: DictionaryObject) -> None:
        """Compared whole, each side read from its own revision: the form may be an object of its own."""
        self.handled.update(_numbers(old_catalog, "/AcroForm"))
        old, new = _resolve(old_catalog.get("/AcroForm")), _resolve(new_catalog.get("/AcroForm"))
        old = old if isinstance(old, DictionaryObject) else DictionaryObject()
        if not isinstance(new, DictionaryObject):
            self.note(Modification.OTHER)
            return
        for key in _differing_keys(old, new):
            if key != "/Fields":
                self.note(Modification.FORM_FILLING if key in _ACROFORM_KEYS else Modification.OTHER)
        self.handled.update(_numbers(old, "/Fields"))
        self._fields(_array(old.get("/Fields")), _array(new.get("/Fields")))

    def _fields(self, old: list[object], new: list[object]) -> None:
        old_keys, new_keys = [_key(item) for item in old], [_key(item) for item in new]
        if any(key not in new_keys for key in old_keys):
            self.note(Modification.OTHER)  # a field removed from the form
        for item, key in zip(new, new_keys):
            if key not in old_keys:
                self._new_field(_resolve(item))

    def _new_field(self, field: object) -> None:
        """A field the update added: only signature fields may be added (ISO 32000-1 §12.8.2.2)."""
        if not isinstance(field, DictionaryObject) or field.get("/FT") != "/Sig":
            self.note(Modification.OTHER)
            return
        self.note(self._signature_value_level(field))

    def _signature_value_level(self, field: DictionaryObject) -> Modification:
        value = field.raw_get("/V") if "/V" in field else None
        if isinstance(value, IndirectObject) and value.idnum in self.known:
            level = self.known[value.idnum]
        else:
            resolved = _resolve(value)
            timestamp = isinstance(resolved, DictionaryObject) and resolved.get("/SubFilter") == DOCUMENT_TIMESTAMP
            level = Modification.LTV if timestamp else Modification.FORM_FILLING
        # A timestamp is validation data only while it shows nothing (ISO 32000-2 §12.8.5 recommends no
        # appearance, pyHanko requires it): a visible one puts its appearance on the page, as a signature does.
        return Modification.FORM_FILLING if level is Modification.LTV and _visible(field) else level

    def _changed_field(
        self, old: DictionaryObject, new: DictionaryObject, differing: list[str], *, signature_field: bool,
        roles: _Roles,
    ) -> None:
        self.changed_fields.add(_field_name(old))
        # A signature field may change only as it is signed: once signed, what it shows was signed too.
        fillable = not signature_field or (not _signed(old) and _signed(new))
        for key in differing:
            if key == "/V" and signature_field:
                # Signing an empty signature field is signing; replacing a signature value is not.
                self.note(Modification.OTHER if "/V" in old else self._signature_value_level(new))
            elif key == "/Kids":
                self._kids(_array(old.get("/Kids")), _array(new.get("/Kids")))
            elif key == "/AP" and fillable:
                # An indirect appearance dictionary something else also uses is not this field's to change.
                shared = "/AP" in old and isinstance(old.raw_get("/AP"), IndirectObject) and len(
                    roles.referrers(old.raw_get("/AP").idnum)) != 1
                self.note(Modification.OTHER if shared else Modification.FORM_FILLING)
            elif key == "/F" and fillable:
                self.note(Modification.FORM_FILLING if _shown(old) == _shown(new) else Modification.OTHER)
            else:
                self.note(Modification.FORM_FILLING if key in _FORM_KEYS and fillable else Modification.OTHER)

    def _kids(self, old: list[object], new: list[object]) -> None:
        old_keys = [_key(item) for item in old]
        if any(key not in [_key(item) for item in new] for key in old_keys):
            self.note(Modification.OTHER)
        for item in new:
            if _key(item) not in old_keys:
                kid = _resolve(item)
                self.note(Modification.FORM_FILLING if isinstance(kid, DictionaryObject)
                          and kid.get("/Subtype") == _WIDGET else Modification.OTHER)

    # -- pages and annotations ---------------------------------------------------------------------------

    def _page(self, old: DictionaryObject, new: DictionaryObject, differing: list[str]) -> None:
        if any(key != "/Annots" for key in differing):
            self.note(Modification.OTHER)
        self.handled.update(_numbers(old, "/Annots"))
        self._annotations(_array(old.get("/Annots")), _array(new.get("/Annots")))

    def _annotations(self, old: list[object], new: list[object]) -> None:
        old_keys, new_keys = [_key(item) for item in old], [_key(item) for item in new]
        for item, key in zip(old, old_keys):
            if key not in new_keys:
                removed = _resolve(item)
                widget = isinstance(removed, DictionaryObject) and removed.get("/Subtype") == _WIDGET
                self.note(Modification.OTHER if widget else Modification.ANNOTATIONS)
        for item, key in zip(new, new_keys):
            if key not in old_keys:
                self.note(self._new_annotation(item))

    def _new_annotation(self, item: object) -> Modification:
        annotation = _resolve(item)
        if not isinstance(annotation, DictionaryObject):
            return Modification.OTHER
        if annotation.get("/Subtype") != _WIDGET:
            return Modification.ANNOTATIONS
        if not (isinstance(item, IndirectObject) and item.idnum in self.form_members):
            return Modification.OTHER  # a widget of no field of the form draws on the page as content would
        field = annotation if "/FT" in annotation else _resolve(annotation.get("/Parent"))
        if isinstance(field, DictionaryObject) and field.get("/FT") == "/Sig":
            return self._signature_value_level(field)
        return Modification.FORM_FILLING

    # -- one replaced object, judged by what it was when signed ----------------------------------------------

    def _object(self, number: int, roles: _Roles) -> None:
        old = _object_at(self.old, number)
        new = None if number in self.freed else _object_at(self.new, number)
        if old is None:
            return  # not in the signed revision after all (a free entry): nothing signed was replaced
        if isinstance(old, StreamObject) and old.get("/Type") in ("/XRef", "/ObjStm") and not roles.referred(number):
            return  # file structure, not content (a stream something refers to is content, whatever it claims)
        if new is None or type(new) is not type(old):
            self.note(Modification.OTHER)
            return
        plain = type(old) is DictionaryObject
        differing = _differing_keys(old, new) if plain else []  # type: ignore[arg-type]
        if (plain and not differing) or (not plain and _canonical(old) == _canonical(new)):
            return  # written again unchanged (a writer's mark aside)
        # Each role below is trusted only when every reference to the object in the signed revision is in that
        # role: a content stream that doubles as an appearance or a DSS entry is content (pyHanko's "sneaky" files).
        kind = old.get("/Type") if isinstance(old, DictionaryObject) else None
        if isinstance(old, StreamObject):
            if number in roles.dss_only or roles.only_as_metadata(number):
                self.note(Modification.LTV)
            else:
                self.note(Modification.FORM_FILLING if self._appearance_update(number, roles) else Modification.OTHER)
        elif kind == "/Page" and isinstance(new, DictionaryObject):
            self._page(old, new, differing)
        elif isinstance(old, DictionaryObject) and _is_field(old):
            self._changed_field(old, new, differing, signature_field=_is_signature_field(old), roles=roles)  # type: ignore[arg-type]
        elif isinstance(old, DictionaryObject) and "/Subtype" in old and "/Rect" in old and roles.only_as_annotation(number):
            self.note(Modification.ANNOTATIONS)
        elif isinstance(old, ArrayObject) and number in roles.annots_arrays and roles.only_under(number, "/Annots"):
            self._annotations(list(old), list(new))  # type: ignore[arg-type]
        elif number in roles.dss_only:
            self.note(Modification.LTV)
        elif number in roles.extensions and roles.only_under(number, "/Extensions"):
            self.note(Modification.LTV)  # the catalog's /Extensions dictionary, written apart (ISO 32000-2 §7.12)
        else:
            self.note(Modification.OTHER)  # pages tree, resources, fonts, signature dictionaries …

    def _appearance_update(self, number: int, roles: _Roles) -> bool:
        """Whether a stream written again is one widget's own appearance, changed as its field is filled or signed.

        As pyHanko allows in-place appearance updates: the stream and its appearance dictionary are used once;
        the field has no appearance states (/AS: its streams are fixed); a signature field is being signed now,
        never one signed before (what a signed field shows was signed).
        """
        widget = roles.appearance_owner(number)
        old = _object_at(self.old, widget) if widget is not None else None
        new = _object_at(self.new, widget) if widget is not None else None
        if not (isinstance(old, DictionaryObject) and isinstance(new, DictionaryObject)) or "/AS" in old:
            return False
        self.changed_fields.add(_field_name(old))
        return not _is_signature_field(old) or (not _signed(old) and _signed(new))

@dataclass(frozen=True)
class _Edge:
    """One reference in the signed revision: from object ``holder`` (None: the trailer) through ``path`` (keys,
    "[]" for an array element) inside that object's own direct value."""

    holder: int | None
    path: tuple[str, ...]


class _Roles:
    """What the signed revision's objects are and who refers to them, each found when first needed (walking the
    whole revision is the costly one, and most updates never need it)."""

    def __init__(self, old: PdfReader) -> None:
        self.old = old
        catalog = _resolve(old.trailer.get("/Root"))
        self.catalog = catalog if isinstance(catalog, DictionaryObject) else DictionaryObject()
        root = old.trailer.raw_get("/Root") if "/Root" in old.trailer else None
        self.catalog_number = root.idnum if isinstance(root, IndirectObject) else None

    @cached_property
    def _references(self) -> dict[int, list[_Edge]] | None:
        return _references(self.old.trailer)

    def referrers(self, number: int) -> list[_Edge] | None:
        """Every reference to object ``number`` in the signed revision; None when the file is too large to tell."""
        references = self._references
        return None if references is None else references.get(number, [])

    def referred(self, number: int) -> bool:
        return self.referrers(number) != []

    def _only(self, number: int, allowed: Callable[[_Edge], bool]) -> bool:
        edges = self.referrers(number)
        return bool(edges) and all(allowed(edge) for edge in edges)

    def only_under(self, number: int, key: str) -> bool:
        """Referred to only as the value of ``key`` (directly, not inside an array or dictionary)."""
        return self._only(number, lambda edge: edge.path == (key,))

    def only_as_metadata(self, number: int) -> bool:
        return number in self.metadata and self._only(number, lambda edge: edge.path[-1:] == ("/Metadata",))

    def only_as_annotation(self, number: int) -> bool:
        return self._only(number, lambda edge: bool(edge.path) and (edge.path[0] in _ANNOTATION_LINKS or (
            edge.path == ("[]",) and edge.holder in self.annots_arrays)))

    @cached_property
    def dss(self) -> set[int]:
        start = [self.catalog.raw_get("/DSS")] if "/DSS" in self.catalog else []
        return {number for number, _ in _walk(start, _children) if number is not None}

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
                edges = self.referrers(number)
                if edges is None or not all(edge.holder in inside or (
                        edge.holder == self.catalog_number and edge.path == ("/DSS",)) for edge in edges):
                    inside.discard(number)
                    changed = True
        return inside

    @cached_property
    def metadata(self) -> set[int]:
        return set(_numbers(self.catalog, "/Metadata"))

    @cached_property
    def extensions(self) -> set[int]:
        return set(_numbers(self.catalog, "/Extensions"))

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
                found.update(_numbers(page, "/Annots"))
        except Exception:  # noqa: BLE001 - a damaged page tree leaves its arrays unrecognised (so: content)
            pass
        return found


def _references(trailer: DictionaryObject) -> dict[int, list[_Edge]] | None:
    """Every reference reachable from ``trailer``, by the object referred to; None beyond ``_MAX_REFERENCES``."""
    found: dict[int, list[_Edge]] = {}
    seen: set[int] = set()
    pending: list[tuple[int | None, object]] = [(None, trailer)]
    while pending:
        holder, value = pending.pop()
        for path, target in _references_in(value, ()):
            found.setdefault(target.idnum, []).append(_Edge(holder, path))
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
    elif len(path) > _MAX_DEPTH:
        return
    elif isinstance(value, DictionaryObject):
        for key in value:
            yield from _references_in(value.raw_get(key), (*path, str(key)))
    elif isinstance(value, ArrayObject):
        for item in value:
            yield from _references_in(item, (*path, "[]"))


def _signed(field: DictionaryObject) -> bool:
    """Whether a (signature) field, or the field a widget belongs to, has a value."""
    parent = _resolve(field.get("/Parent"))
    return "/V" in field or (isinstance(parent, DictionaryObject) and "/V" in parent)


def _visible(field: DictionaryObject) -> bool:
    """Whether the field or one of its widgets has an area on the page."""
    return any(_area(widget) for widget in [field, *map(_resolve, _array(field.get("/Kids")))])


def _area(annotation: object) -> float:
    try:
        x1, y1, x2, y2 = (float(number) for number in _array(annotation.get("/Rect")))  # type: ignore[union-attr]
    except (AttributeError, TypeError, ValueError):
        return 0.0
    return abs(x2 - x1) * abs(y2 - y1)


def _shown(annotation: DictionaryObject) -> int:
    flags = annotation.get("/F", 0)
    return int(flags) & _HIDING_FLAGS if isinstance(flags, (int, float)) else -1


def _changed_objects(old: PdfReader, new: PdfReader) -> set[int]:
    """Numbers of the signed revision's objects that the later xref sections point elsewhere (or whose
    object stream they do)."""
    old_places, new_places = _places(old), _places(new)
    # pypdf keeps an older section's offset for an object a newer section frees; viewers read it as null.
    freed = (_freed(new) - _freed(old)) & set(old_places)
    moved = {number for number, place in old_places.items() if new_places.get(number) != place} | freed
    return moved | {number for number, place in old_places.items() if place[0] == "stream" and place[1] in moved}


def _freed(reader: PdfReader) -> set[int]:
    return {number for table in reader.xref_free_entry.values() for number, free in table.items() if free and number}


def _places(reader: PdfReader) -> dict[int, tuple[object, ...]]:
    places: dict[int, tuple[object, ...]] = {}
    for generation, table in reader.xref.items():
        for number, offset in table.items():
            places[number] = ("offset", generation, offset)
    for number, (stream, index) in reader.xref_objStm.items():
        places[number] = ("stream", stream, index)
    return places


def _object_at(reader: PdfReader, number: int) -> object | None:
    for generation, table in reader.xref.items():
        if number in table:
            return reader.get_object(IndirectObject(number, generation, reader))
    return reader.get_object(IndirectObject(number, 0, reader)) if number in reader.xref_objStm else None


def _walk(start: list[object], children: Callable[[object], list[object]]) -> Iterator[tuple[int | None, object]]:
    """(object number or None when direct, resolved value) of everything reachable, each indirect object once
    and at most ``_MAX_WALK`` of them: hostile files loop."""
    pending, seen = list(start), set()
    while pending and len(seen) < _MAX_WALK:
        item = pending.pop()
        number = item.idnum if isinstance(item, IndirectObject) else None
        if number is not None:
            if number in seen:
                continue
            seen.add(number)
        value = _resolve(item)
        yield number, value
        pending.extend(children(value))


def _field_kids(value: object) -> list[object]:
    return _array(value.get("/Kids")) if isinstance(value, DictionaryObject) else []


def _field_name(field: DictionaryObject) -> str:
    """The full name (ISO 32000-1 §12.7.3.2): the /T of the field and its ancestors, joined by dots."""
    parts: list[str] = []
    current: object = field
    for _ in range(_MAX_DEPTH):
        if not isinstance(current, DictionaryObject):
            break
        if "/T" in current:
            parts.append(str(current["/T"]))
        current = _resolve(current.get("/Parent"))
    return ".".join(reversed(parts))


def _children(value: object) -> list[object]:
    if isinstance(value, DictionaryObject):
        return [value.raw_get(key) for key in value]
    return list(value) if isinstance(value, ArrayObject) else []


def _is_field(value: DictionaryObject) -> bool:
    return "/FT" in value or ("/T" in value and ("/Kids" in value or "/Parent" in value)) or (
        value.get("/Subtype") == _WIDGET)


def _is_signature_field(value: DictionaryObject) -> bool:
    parent = _resolve(value.get("/Parent"))
    return value.get("/FT") == "/Sig" or (isinstance(parent, DictionaryObject) and parent.get("/FT") == "/Sig")


def _differing_keys(old: DictionaryObject, new: DictionaryObject) -> list[str]:
    return [str(key) for key in (set(old) | set(new)) - _WRITER_MARKS
            if key not in old or key not in new or _canonical(old.raw_get(key)) != _canonical(new.raw_get(key))]


def _canonical(value: object, depth: int = 0) -> object:
    """A value comparable across two readers: references by number, strings by their bytes."""
    if depth > _MAX_DEPTH:
        return ("too deep",)
    if isinstance(value, IndirectObject):
        return ("ref", value.idnum, value.generation)
    if isinstance(value, StreamObject):
        return ("stream", _canonical(DictionaryObject(value), depth + 1), value._data)  # noqa: SLF001
    if isinstance(value, DictionaryObject):
        return tuple(sorted((str(key), _canonical(value.raw_get(key), depth + 1)) for key in value))
    if isinstance(value, ArrayObject):
        return tuple(_canonical(item, depth + 1) for item in value)
    if isinstance(value, TextStringObject):
        return ("string", value.original_bytes)
    if isinstance(value, ByteStringObject):
        return ("string", bytes(value))
    if isinstance(value, NameObject):
        return ("name", str(value))
    if isinstance(value, (NumberObject, FloatObject)):
        return ("number", float(value))  # 612 and 612.0 are one coordinate
    return (type(value).__name__, str(value))


def _numbers(container: DictionaryObject, key: str) -> list[int]:
    """The object number ``key`` refers to, when it is a reference."""
    value = container.raw_get(key) if key in container else None
    return [value.idnum] if isinstance(value, IndirectObject) else []


def _key(item: object) -> object:
    return _canonical(item)


def _resolve(value: object) -> object:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _array(value: object) -> list[object]:
    value = _resolve(value)
    return list(value) if isinstance(value, ArrayObject) else []
