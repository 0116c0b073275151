"""Incremental updates written by hand, for tests of what may change after a PDF is signed.

Each helper appends one update (ISO 32000-1 §7.5.6) to a PDF made by ``samples.pdfgen``: new or
replaced objects, a new xref section and a trailer pointing back at the previous one.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

from pypdf import PdfReader

from samples.pdfgen import _incremental_update  # the samples' own update writer, reused as is

__all__ = [
    "Update",
    "append_update",
    "object_body",
    "add_field_with_signature_dict",
    "add_page",
    "replace_object",
    "add_annotation",
    "add_dss",
    "free_object",
    "add_text_field",
    "add_to_catalog",
]


class Update:
    """The state of a PDF an update is written against: its size, root and last xref."""

    def __init__(self, pdf: bytes) -> None:
        self.pdf = pdf
        self.reader = PdfReader(io.BytesIO(pdf))
        self.size = int(self.reader.trailer["/Size"])
        self.root = self.reader.trailer.raw_get("/Root").idnum

    def page_number(self, index: int = 0) -> int:
        return self.reader.pages[index].indirect_reference.idnum


def object_body(pdf: bytes, number: int) -> bytes:
    """The newest body of object ``number`` (written by this module or ``samples.pdfgen``)."""
    bodies = re.findall(rb"(?:^|\n)%d 0 obj\n(.*?)\nendobj" % number, pdf, re.S)
    return bodies[-1]


def append_update(pdf: bytes, objects: dict[int, bytes], trailer_extra: bytes = b"") -> bytes:
    """Append ``objects`` (number → body) with their own xref section and trailer."""
    state = Update(pdf)
    size = max([state.size, *(number + 1 for number in objects)])
    return _incremental_update(pdf, objects, size, state.root, trailer_extra)


def add_field_with_signature_dict(pdf: bytes, field: bytes, signature: bytes | None) -> bytes:
    """Add a form field (its body may use ``{field}`` and ``{sig}`` for its own and its /V's number)."""
    state = Update(pdf)
    field_number, sig_number = state.size, state.size + 1
    catalog = _with_reference(
        object_body(pdf, state.root), b"/Fields", field_number, b"/AcroForm << /Fields [%d 0 R] /SigFlags 3 >>"
    )
    body = field.replace(b"{field}", b"%d" % field_number).replace(b"{sig}", b"%d" % sig_number)
    objects = {state.root: catalog, field_number: body}
    if signature is not None:
        objects[sig_number] = signature
    return append_update(pdf, objects)


def _with_entry(body: bytes, entry: bytes) -> bytes:
    """A dictionary body with one more entry before its closing ``>>``."""
    return body.rstrip()[:-2] + b" " + entry + b" >>"


def _with_reference(body: bytes, key: bytes, number: int, missing: bytes) -> bytes:
    """``number`` appended to the array ``key`` (e.g. ``/Annots``) in ``body``, or the entry ``missing`` added
    (``%d`` in it stands for ``number``) when there is no such array."""
    found = re.search(rb"%s \[([^\]]*)\]" % re.escape(key), body)
    if found:
        return body.replace(found.group(0), b"%s [%s %d 0 R]" % (key, found.group(1), number))
    return _with_entry(body, missing % number)


def add_page(pdf: bytes) -> bytes:
    """A page appended to the page tree (the one-level tree ``samples.pdfgen`` writes)."""
    state = Update(pdf)
    page, content = state.size, state.size + 1
    pages = object_body(pdf, 2)
    kids = re.search(rb"/Kids \[([^\]]*)\]", pages)
    count = re.search(rb"/Count (\d+)", pages)
    assert kids and count
    pages = pages.replace(kids.group(0), b"/Kids [%s %d 0 R]" % (kids.group(1), page))
    pages = pages.replace(count.group(0), b"/Count %d" % (int(count.group(1)) + 1))
    text = b"BT /F1 12 Tf 72 770 Td (Trang them sau khi ky) Tj ET"
    return append_update(
        pdf,
        {
            2: pages,
            page: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >>"
            b" /Contents %d 0 R >>" % content,
            content: b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        },
    )


def replace_object(pdf: bytes, number: int, body: bytes) -> bytes:
    """Object ``number`` written again with ``body``: a shadow attack when the signed revision had it."""
    return append_update(pdf, {number: body})


def add_annotation(
    pdf: bytes, annotation: bytes = b"<< /Type /Annot /Subtype /Text /Rect [10 10 30 30] /Contents (Ghi chu) >>"
) -> bytes:
    """A comment added to the first page's /Annots."""
    state = Update(pdf)
    number, page = state.size, state.page_number(0)
    body = _with_reference(object_body(pdf, page), b"/Annots", number, b"/Annots [%d 0 R]")
    return append_update(pdf, {page: body, number: annotation})


def add_dss(pdf: bytes, certs: bytes | None = None) -> bytes:
    """Validation data (a DSS with one new certificate stream, or the /Certs entries ``certs``), as an LTV
    update writes it."""
    state = Update(pdf)
    dss, cert = state.size, state.size + 1
    catalog = _with_entry(object_body(pdf, state.root), b"/DSS %d 0 R" % dss)
    objects = {state.root: catalog, dss: b"<< /Certs [%s] /VRI << >> >>" % (certs or b"%d 0 R" % cert)}
    if certs is None:
        objects[cert] = b"<< /Length 3 >>\nstream\n\x30\x00\x00\nendstream"
    return append_update(pdf, objects)


def add_to_catalog(pdf: bytes, entry: bytes, objects: dict[int, bytes] | None = None) -> bytes:
    """One more catalog entry (e.g. ``/Metadata 5 0 R``), with any ``objects`` it needs."""
    state = Update(pdf)
    return append_update(pdf, {**(objects or {}), state.root: _with_entry(object_body(pdf, state.root), entry)})


def add_text_field(pdf: bytes, appearance: bytes, objects: Sequence[bytes] = (), widget_extra: bytes = b"") -> bytes:
    """A filled-in text field on the first page whose /AP is ``appearance``; ``objects`` are added after the
    widget, and ``{0}``, ``{1}`` … in any of these bodies stand for their numbers."""
    state = Update(pdf)
    widget = state.size
    numbers = {b"{%d}" % index: b"%d" % (widget + 1 + index) for index in range(len(objects))}

    def fill(body: bytes) -> bytes:
        for mark, number in numbers.items():
            body = body.replace(mark, number)
        return body

    catalog = _with_reference(object_body(pdf, state.root), b"/Fields", widget, b"/AcroForm << /Fields [%d 0 R] >>")
    page = state.page_number(0)
    page_body = _with_reference(object_body(pdf, page), b"/Annots", widget, b"/Annots [%d 0 R]")
    body = (
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (Ghi chu) /V (Da xem) /Rect [72 700 300 720] /F 4"
        b" /P %d 0 R /AP %s%s >>" % (page, fill(appearance), widget_extra)
    )
    added = {widget + 1 + index: fill(value) for index, value in enumerate(objects)}
    return append_update(pdf, {**added, state.root: catalog, page: page_body, widget: body})


def free_object(pdf: bytes, number: int) -> bytes:
    """An update whose xref marks object ``number`` free: viewers then read every reference to it as null."""
    state = Update(pdf)
    startxref = int(re.findall(rb"startxref\s+(\d+)", pdf[-2048:])[-1])
    body = pdf if pdf.endswith(b"\n") else pdf + b"\n"
    return body + (
        b"xref\n0 1\n0000000000 65535 f \n%d 1\n0000000000 00001 f \n"
        b"trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
        % (number, state.size, state.root, startxref, len(body))
    )
