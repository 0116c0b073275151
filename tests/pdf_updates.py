"""Incremental updates written by hand, for tests of what may change after a PDF is signed.

Each helper appends one update (ISO 32000-1 §7.5.6) to a PDF made by ``samples.pdfgen``: new or
replaced objects, a new xref section and a trailer pointing back at the previous one.
"""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from samples.pdfgen import _incremental_update  # the samples' own update writer, reused as is

__all__ = ["Update", "append_update", "object_body", "add_field_with_signature_dict"]


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
    catalog = object_body(pdf, state.root)
    fields = re.search(rb"/Fields \[([^\]]*)\]", catalog)
    if fields:
        catalog = catalog.replace(fields.group(0), b"/Fields [%s %d 0 R]" % (fields.group(1), field_number))
    else:
        catalog = catalog.rstrip()[:-2] + b" /AcroForm << /Fields [%d 0 R] /SigFlags 3 >> >>" % field_number
    body = field.replace(b"{field}", b"%d" % field_number).replace(b"{sig}", b"%d" % sig_number)
    objects = {state.root: catalog, field_number: body}
    if signature is not None:
        objects[sig_number] = signature
    return append_update(pdf, objects)
