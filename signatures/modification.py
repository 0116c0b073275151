"""What changed in a PDF after each signature: its later incremental updates, classified.

A signature covers the file as it was when signed (its revision). Later updates may add validation
data, fill forms, sign again, add comments, or change what the signed pages show. Each object the
later xref sections replace is judged by what it was in the signed revision, which the signer
vouched for; objects only new updates add matter solely through what refers to them. The classes
(``Modification``) and the rule (``permitted``) are documented in docs/signatures.md; the comparison
itself is ``signatures.revision_diff``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.generic import DictionaryObject, IndirectObject

from signatures.fieldmdp import field_lock
from signatures.pdf import PdfSignature
from signatures.pdfvalues import resolve
from signatures.revision_diff import ORDER, RANK, classify_revision
from signatures.verdict import CheckName, CheckOutcome, Modification, Verdict

__all__ = ["ORDER", "Changes", "analyse_changes", "certification_level", "permitted", "changes_permitted", "describe"]

_DOCMDP_ALLOWS = {1: Modification.LTV, 2: Modification.FORM_FILLING, 3: Modification.ANNOTATIONS}
"""ISO 32000-1 Table 254 /P; PAdES (ETSI EN 319 142-1 §5.4) lets validation data follow even /P 1."""
_TRAILING_NOISE = b" \t\r\n\x00"
_MAX_REVISIONS = 64
"""Signed revisions compared per file; each costs a parse of the file up to it, so a hostile file with
thousands of signatures would cost thousands of parses. Those beyond are reported ``other`` (unchecked)."""


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
    allowed = _DOCMDP_ALLOWS.get(docmdp or 0, Modification.LTV if last else Modification.ANNOTATIONS)
    return modification is not Modification.OTHER and RANK[modification] <= RANK[allowed]


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
            cache[end] = classify_revision(data[:end], reader, known) if within else (Modification.OTHER, frozenset())
        level, fields = cache[end]
        locked = field_lock(data, reader, signature)
        # A field this signature locked (FieldMDP) changed after it: its value is part of what was signed.
        after.append(Modification.OTHER if locked is not None and any(map(locked, fields)) else level)
    return Changes(tuple(after), certification_level(reader, signatures))


def certification_level(reader: PdfReader, signatures: Sequence[PdfSignature]) -> int | None:
    """The DocMDP /P of the first signature when it certifies the document (else None): its own /Reference
    says so, or the catalog's /Perms /DocMDP names it (then /P defaults to 2)."""
    if not signatures:
        return None
    first = signatures[0]
    if first.docmdp is not None:
        return first.docmdp if first.docmdp in _DOCMDP_ALLOWS else 2
    try:
        catalog = resolve(reader.trailer["/Root"])
        perms = resolve(catalog.get("/Perms")) if isinstance(catalog, DictionaryObject) else None
        target = perms.raw_get("/DocMDP") if isinstance(perms, DictionaryObject) and "/DocMDP" in perms else None
    except Exception:  # noqa: BLE001 - a broken /Perms certifies nothing
        return None
    named = (
        isinstance(target, IndirectObject) and first.object_number is not None and target.idnum == first.object_number
    )
    return 2 if named else None
