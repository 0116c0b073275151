"""The signed revision against the whole file: which class (``Modification``) each later change falls in.

Each object the later xref sections replace is judged by what it was in the signed revision, which the
signer vouched for: the catalog, the document information, the form and its fields, pages and their
annotations; any other object only through the roles ``signatures.references`` finds for it.
"""

from __future__ import annotations

import io
from functools import cached_property
from typing import SupportsFloat, SupportsIndex

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from signatures.pdf import DOCUMENT_TIMESTAMP
from signatures.pdfvalues import MAX_DEPTH, array, canonical, differing_keys, numbers, object_at, resolve, walk
from signatures.references import Roles
from signatures.verdict import Modification

__all__ = ["ORDER", "RANK", "classify_revision"]

ORDER: tuple[Modification, ...] = (
    Modification.NONE,
    Modification.LTV,
    Modification.FORM_FILLING,
    Modification.ANNOTATIONS,
    Modification.OTHER,
)
RANK = {level: rank for rank, level in enumerate(ORDER)}
_CATALOG_LTV_KEYS = frozenset({"/DSS", "/Extensions", "/Version", "/Metadata"})
"""Catalog entries LTV tools write: the DSS, the ESIC extension and version it requires, XMP metadata."""
_INFO_LTV_KEYS = frozenset({"/ModDate", "/Producer"})
_FORM_KEYS = frozenset({"/V", "/AP", "/AS", "/MK"})
_ACROFORM_KEYS = frozenset({"/SigFlags", "/DR", "/DA", "/NeedAppearances"})
_WIDGET = "/Widget"
_HIDING_FLAGS = 1 | 2 | 32 | 256
"""Annotation /F bits that decide whether a widget is shown (Invisible, Hidden, NoView, ToggleNoView);
the others (Print, Locked …) may change when a field is signed, as Acrobat locks the field it signs."""


def classify_revision(
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
        catalog = resolve(self.new.trailer.get("/Root"))
        acroform = resolve(catalog.get("/AcroForm")) if isinstance(catalog, DictionaryObject) else None
        fields = array(acroform.get("/Fields")) if isinstance(acroform, DictionaryObject) else []
        return {number for number, _ in walk(fields, _field_kids) if number is not None}

    def note(self, level: Modification) -> None:
        if RANK[level] > RANK[self.found]:
            self.found = level

    def level(self) -> Modification:
        old_root, new_root = self.old.trailer.raw_get("/Root"), self.new.trailer.raw_get("/Root")
        self._catalog(resolve(old_root), resolve(new_root))
        self._info()
        changed = _changed_objects(self.old, self.new)
        self.freed = _freed(self.new) - _freed(self.old)
        if changed:
            roles = Roles(self.old)
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
        for key in differing_keys(old, new):
            if key != "/AcroForm":
                self.note(Modification.LTV if key in _CATALOG_LTV_KEYS else Modification.OTHER)
        if "/AcroForm" in old or "/AcroForm" in new:
            self._acroform(old, new)

    def _info(self) -> None:
        old = resolve(self.old.trailer.get("/Info"))
        new = resolve(self.new.trailer.get("/Info"))
        old = old if isinstance(old, DictionaryObject) else DictionaryObject()
        new = new if isinstance(new, DictionaryObject) else DictionaryObject()
        for key in differing_keys(old, new):
            self.note(Modification.LTV if key in _INFO_LTV_KEYS else Modification.OTHER)
        self.handled.update(numbers(self.old.trailer, "/Info"))

    # -- forms ---------------------------------------------------------------------------------------

    def _acroform(self, old_catalog: DictionaryObject, new_catalog: DictionaryObject) -> None:
        """Compared whole, each side read from its own revision: the form may be an object of its own."""
        self.handled.update(numbers(old_catalog, "/AcroForm"))
        old, new = resolve(old_catalog.get("/AcroForm")), resolve(new_catalog.get("/AcroForm"))
        old = old if isinstance(old, DictionaryObject) else DictionaryObject()
        if not isinstance(new, DictionaryObject):
            self.note(Modification.OTHER)
            return
        for key in differing_keys(old, new):
            if key != "/Fields":
                self.note(Modification.FORM_FILLING if key in _ACROFORM_KEYS else Modification.OTHER)
        self.handled.update(numbers(old, "/Fields"))
        self._fields(array(old.get("/Fields")), array(new.get("/Fields")))

    def _fields(self, old: list[object], new: list[object]) -> None:
        old_keys, new_keys = [_key(item) for item in old], [_key(item) for item in new]
        if any(key not in new_keys for key in old_keys):
            self.note(Modification.OTHER)  # a field removed from the form
        for item, key in zip(new, new_keys):
            if key not in old_keys:
                self._new_field(resolve(item))

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
            resolved = resolve(value)
            timestamp = isinstance(resolved, DictionaryObject) and resolved.get("/SubFilter") == DOCUMENT_TIMESTAMP
            level = Modification.LTV if timestamp else Modification.FORM_FILLING
        # A timestamp is validation data only while it shows nothing (ISO 32000-2 §12.8.5 recommends no
        # appearance, pyHanko requires it): a visible one puts its appearance on the page, as a signature does.
        return Modification.FORM_FILLING if level is Modification.LTV and _visible(field) else level

    def _changed_field(
        self,
        old: DictionaryObject,
        new: DictionaryObject,
        differing: list[str],
        *,
        signature_field: bool,
        roles: Roles,
    ) -> None:
        self.changed_fields.add(_field_name(old))
        # A signature field may change only as it is signed: once signed, what it shows was signed too.
        fillable = not signature_field or (not _signed(old) and _signed(new))
        for key in differing:
            if key == "/V" and signature_field:
                # Signing an empty signature field is signing; replacing a signature value is not.
                self.note(Modification.OTHER if "/V" in old else self._signature_value_level(new))
            elif key == "/Kids":
                self._kids(array(old.get("/Kids")), array(new.get("/Kids")))
            elif key == "/AP" and fillable:
                # An indirect appearance dictionary something else also uses is not this field's to change.
                appearance = old.raw_get("/AP") if "/AP" in old else None
                shared = isinstance(appearance, IndirectObject) and roles.shared(appearance.idnum)
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
                kid = resolve(item)
                self.note(
                    Modification.FORM_FILLING
                    if isinstance(kid, DictionaryObject) and kid.get("/Subtype") == _WIDGET
                    else Modification.OTHER
                )

    # -- pages and annotations ---------------------------------------------------------------------------

    def _page(self, old: DictionaryObject, new: DictionaryObject, differing: list[str]) -> None:
        if any(key != "/Annots" for key in differing):
            self.note(Modification.OTHER)
        self.handled.update(numbers(old, "/Annots"))
        self._annotations(array(old.get("/Annots")), array(new.get("/Annots")))

    def _annotations(self, old: list[object], new: list[object]) -> None:
        old_keys, new_keys = [_key(item) for item in old], [_key(item) for item in new]
        for item, key in zip(old, old_keys):
            if key not in new_keys:
                removed = resolve(item)
                widget = isinstance(removed, DictionaryObject) and removed.get("/Subtype") == _WIDGET
                self.note(Modification.OTHER if widget else Modification.ANNOTATIONS)
        for item, key in zip(new, new_keys):
            if key not in old_keys:
                self.note(self._new_annotation(item))

    def _new_annotation(self, item: object) -> Modification:
        annotation = resolve(item)
        if not isinstance(annotation, DictionaryObject):
            return Modification.OTHER
        if annotation.get("/Subtype") != _WIDGET:
            return Modification.ANNOTATIONS
        if not (isinstance(item, IndirectObject) and item.idnum in self.form_members):
            return Modification.OTHER  # a widget of no field of the form draws on the page as content would
        field = annotation if "/FT" in annotation else resolve(annotation.get("/Parent"))
        if isinstance(field, DictionaryObject) and field.get("/FT") == "/Sig":
            return self._signature_value_level(field)
        return Modification.FORM_FILLING

    # -- one replaced object, judged by what it was when signed ----------------------------------------------

    def _object(self, number: int, roles: Roles) -> None:
        old = object_at(self.old, number)
        new = None if number in self.freed else object_at(self.new, number)
        if old is None:
            return  # not in the signed revision after all (a free entry): nothing signed was replaced
        if isinstance(old, StreamObject) and old.get("/Type") in ("/XRef", "/ObjStm") and not roles.referred(number):
            return  # file structure, not content (a stream something refers to is content, whatever it claims)
        if new is None or type(new) is not type(old):
            self.note(Modification.OTHER)
            return
        plain = type(old) is DictionaryObject
        differing = (
            differing_keys(old, new) if type(old) is DictionaryObject and isinstance(new, DictionaryObject) else []
        )
        if (plain and not differing) or (not plain and canonical(old) == canonical(new)):
            return  # written again unchanged (a writer's mark aside)
        # Each role below is trusted only when every reference to the object in the signed revision is in that
        # role: a content stream that doubles as an appearance or a DSS entry is content (pyHanko's "sneaky" files).
        kind = old.get("/Type") if isinstance(old, DictionaryObject) else None
        if isinstance(old, StreamObject):
            if number in roles.dss_only or roles.only_as_metadata(number):
                self.note(Modification.LTV)
            else:
                self.note(Modification.FORM_FILLING if self._appearance_update(number, roles) else Modification.OTHER)
        elif kind == "/Page" and isinstance(old, DictionaryObject) and isinstance(new, DictionaryObject):
            self._page(old, new, differing)
        elif isinstance(old, DictionaryObject) and isinstance(new, DictionaryObject) and _is_field(old):
            self._changed_field(old, new, differing, signature_field=_is_signature_field(old), roles=roles)
        elif (
            isinstance(old, DictionaryObject)
            and "/Subtype" in old
            and "/Rect" in old
            and roles.only_as_annotation(number)
        ):
            self.note(Modification.ANNOTATIONS)
        elif (
            isinstance(old, ArrayObject)
            and isinstance(new, ArrayObject)
            and number in roles.annots_arrays
            and (roles.only_under(number, "/Annots"))
        ):
            self._annotations(list(old), list(new))
        elif number in roles.dss_only:
            self.note(Modification.LTV)
        elif number in roles.extensions and roles.only_under(number, "/Extensions"):
            self.note(Modification.LTV)  # the catalog's /Extensions dictionary, written apart (ISO 32000-2 §7.12)
        else:
            self.note(Modification.OTHER)  # pages tree, resources, fonts, signature dictionaries …

    def _appearance_update(self, number: int, roles: Roles) -> bool:
        """Whether a stream written again is one widget's own appearance, changed as its field is filled or signed.

        As pyHanko allows in-place appearance updates: the stream and its appearance dictionary are used once;
        the field has no appearance states (/AS: its streams are fixed); a signature field is being signed now,
        never one signed before (what a signed field shows was signed).
        """
        widget = roles.appearance_owner(number)
        old = object_at(self.old, widget) if widget is not None else None
        new = object_at(self.new, widget) if widget is not None else None
        if not (isinstance(old, DictionaryObject) and isinstance(new, DictionaryObject)) or "/AS" in old:
            return False
        self.changed_fields.add(_field_name(old))
        return not _is_signature_field(old) or (not _signed(old) and _signed(new))


def _signed(field: DictionaryObject) -> bool:
    """Whether a (signature) field, or the field a widget belongs to, has a value."""
    parent = resolve(field.get("/Parent"))
    return "/V" in field or (isinstance(parent, DictionaryObject) and "/V" in parent)


def _visible(field: DictionaryObject) -> bool:
    """Whether the field or one of its widgets has an area on the page."""
    return any(_area(widget) for widget in [field, *map(resolve, array(field.get("/Kids")))])


def _area(annotation: object) -> float:
    try:
        rect = array(annotation.get("/Rect")) if isinstance(annotation, DictionaryObject) else []
        x1, y1, x2, y2 = (_coordinate(number) for number in rect)
    except (AttributeError, TypeError, ValueError):
        return 0.0
    return abs(x2 - x1) * abs(y2 - y1)


def _coordinate(value: object) -> float:
    """What ``float`` makes of a /Rect entry; anything it takes no number from is refused as it would be."""
    if not isinstance(value, (str, bytes, SupportsFloat, SupportsIndex)):
        raise TypeError("not a number")
    return float(value)


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


def _field_kids(value: object) -> list[object]:
    return array(value.get("/Kids")) if isinstance(value, DictionaryObject) else []


def _field_name(field: DictionaryObject) -> str:
    """The full name (ISO 32000-1 §12.7.3.2): the /T of the field and its ancestors, joined by dots."""
    parts: list[str] = []
    current: object = field
    for _ in range(MAX_DEPTH):
        if not isinstance(current, DictionaryObject):
            break
        if "/T" in current:
            parts.append(str(current["/T"]))
        current = resolve(current.get("/Parent"))
    return ".".join(reversed(parts))


def _is_field(value: DictionaryObject) -> bool:
    return (
        "/FT" in value
        or ("/T" in value and ("/Kids" in value or "/Parent" in value))
        or (value.get("/Subtype") == _WIDGET)
    )


def _is_signature_field(value: DictionaryObject) -> bool:
    parent = resolve(value.get("/Parent"))
    return value.get("/FT") == "/Sig" or (isinstance(parent, DictionaryObject) and parent.get("/FT") == "/Sig")


def _key(item: object) -> object:
    return canonical(item)
