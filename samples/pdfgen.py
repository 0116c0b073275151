"""Small PDFs and their signatures, as provincial document systems produce them.

``sign_pdf`` appends an incremental update (ISO 32000-1 §7.5.6) holding a
signature field and its signature dictionary, then fills /ByteRange and
/Contents; calling it twice gives the NĐ 30/2020 shape (person, then
organisation). The prior revision is read with pypdf; the update is written by
hand because it is a handful of objects at known byte offsets.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, NumberObject

from samples.pki import Issued
from samples.sign import sign_cms

__all__ = ["make_pdf", "sign_pdf", "append_after_signature", "break_byte_range"]

_CONTENTS_RESERVE = 12_000  # bytes of signature room: two chains plus a timestamp token
_BYTE_RANGE_PLACEHOLDER = b"/ByteRange [0 0000000000 0000000000 0000000000]"


def _ascii(text: str) -> str:
    """Transliterate Vietnamese for the Helvetica content stream (display only)."""
    plain = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return plain.encode("ascii", "replace").decode().replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _write_pdf(objects: Sequence[bytes]) -> bytes:
    """Serialise numbered objects (1..n) with an xref table; object 1 is the catalog."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref_at = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_at))
    return out.getvalue()


def _stream(data: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def make_pdf(title: str, body_lines: Sequence[str] = (), pages: int = 1, pad_to: int | None = None) -> bytes:
    """A valid PDF with ``pages`` pages of text; ``pad_to`` grows it to about that many bytes."""
    page_count = max(1, pages)
    first_page = 4
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(page_count)).encode()
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, page_count),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for page_number in range(page_count):
        lines = [title, *body_lines] if page_number == 0 else [f"{title} - trang {page_number + 1}"]
        text = "BT /F1 12 Tf 72 770 Td 14 TL " + " ".join(f"({_ascii(line)}) '" for line in lines) + " ET"
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (first_page + 2 * page_number + 1)
        )
        objects.append(_stream(text.encode()))
    pdf = _write_pdf(objects)
    if pad_to and pad_to > len(pdf):
        # An unreferenced filler stream stands in for scanned images and fonts.
        filler = (b"% docflow sample filler\n" * (pad_to // 24 + 1))[: pad_to - len(pdf)]
        pdf = _write_pdf([*objects, _stream(filler)])
    return pdf


def _serialise(obj: Any) -> bytes:
    buffer = io.BytesIO()
    obj.write_to_stream(buffer)
    return buffer.getvalue()


def _startxref(pdf: bytes) -> int:
    found = re.findall(rb"startxref\s+(\d+)", pdf[-2048:])
    return int(found[-1])


def _pdf_date(when: datetime) -> bytes:
    return when.astimezone(UTC).strftime("D:%Y%m%d%H%M%SZ").encode()


def _incremental_update(
    pdf: bytes, objects: dict[int, bytes], size: int, root: int, trailer_extra: bytes = b""
) -> bytes:
    """Append ``objects`` (number → body) as an incremental update with its own xref."""
    out = io.BytesIO()
    out.write(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n")
    xref_at = out.tell()
    # The free-list head first, as Acrobat writes it; strict readers expect subsection 0.
    out.write(b"xref\n0 1\n0000000000 65535 f \n")
    for number in sorted(offsets):
        out.write(b"%d 1\n%010d 00000 n \n" % (number, offsets[number]))
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R /Prev %d%s >>\nstartxref\n%d\n%%%%EOF\n"
        % (size, root, _startxref(pdf), trailer_extra, xref_at)
    )
    return out.getvalue()


def _carried_trailer(reader: PdfReader) -> bytes:
    """Trailer entries an update must repeat (ISO 32000-1 §7.5.6): /Info and /ID."""
    return b"".join(
        b" " + key.encode() + b" " + _serialise(reader.trailer.raw_get(key))
        for key in ("/Info", "/ID")
        if key in reader.trailer
    )


def sign_pdf(
    pdf: bytes,
    signer: Issued,
    *,
    field_name: str | None = None,
    subfilter: str = "adbe.pkcs7.detached",
    signing_time: datetime | None = None,
    **cms_options: Any,
) -> bytes:
    """Append a signature field signed by ``signer`` over the whole file so far.

    ``cms_options`` go to ``sign_cms`` (digest, scheme, timestamp_by, wrong_digest …).
    With the CAdES subfilter the ESS signing-certificate-v2 attribute is added, as PAdES requires.
    """
    if subfilter == "ETSI.CAdES.detached":
        cms_options.setdefault("signing_certificate_v2", True)
    signing_time = signing_time or datetime.now(UTC)
    reader = PdfReader(io.BytesIO(pdf))
    root_ref = reader.trailer.raw_get("/Root")
    catalog = reader.trailer["/Root"]
    page = reader.pages[0]
    size = int(reader.trailer["/Size"])
    sig_number, field_number = size, size + 1

    acroform = catalog.get("/AcroForm")
    fields = ArrayObject(list(acroform["/Fields"]) if acroform else [])
    fields.append(IndirectObject(field_number, 0, reader))
    new_catalog = DictionaryObject({key: catalog.raw_get(key) for key in catalog})
    new_catalog[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): fields, NameObject("/SigFlags"): NumberObject(3)}
    )
    annots = ArrayObject(list(page.get("/Annots", [])))
    annots.append(IndirectObject(field_number, 0, reader))
    new_page = DictionaryObject({key: page.raw_get(key) for key in page})
    new_page[NameObject("/Annots")] = annots

    name = field_name or f"Signature{len(fields)}"
    placeholder = b"<" + b"0" * (2 * _CONTENTS_RESERVE) + b">"
    signature_dict = (
        b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /"
        + subfilter.encode()
        + b" "
        + _BYTE_RANGE_PLACEHOLDER
        + b" /Contents "
        + placeholder
        + b" /M ("
        + _pdf_date(signing_time)
        + b") >>"
    )
    field = (
        b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (" + name.encode() + b") /F 132 "
        b"/Rect [0 0 0 0] /V %d 0 R /P %d 0 R >>" % (sig_number, page.indirect_reference.idnum)
    )
    updated = _incremental_update(
        pdf,
        {
            root_ref.idnum: _serialise(new_catalog),
            page.indirect_reference.idnum: _serialise(new_page),
            sig_number: signature_dict,
            field_number: field,
        },
        size + 2,
        root_ref.idnum,
        _carried_trailer(reader),
    )
    return _fill_signature(updated, placeholder, signer, signing_time, cms_options)


def _fill_signature(
    pdf: bytes, placeholder: bytes, signer: Issued, signing_time: datetime, cms_options: dict[str, Any]
) -> bytes:
    contents_at = pdf.rindex(placeholder)
    contents_end = contents_at + len(placeholder)
    byte_range = b"/ByteRange [0 %d %d %d]" % (contents_at, contents_end, len(pdf) - contents_end)
    byte_range = byte_range.ljust(len(_BYTE_RANGE_PLACEHOLDER))
    range_at = pdf.rindex(_BYTE_RANGE_PLACEHOLDER)
    pdf = pdf[:range_at] + byte_range + pdf[range_at + len(_BYTE_RANGE_PLACEHOLDER) :]
    signed_bytes = pdf[:contents_at] + pdf[contents_end:]
    cms_der = sign_cms(signed_bytes, signer, detached=True, signing_time=signing_time, **cms_options)
    hex_signature = cms_der.hex().encode()
    if len(hex_signature) + 2 > len(placeholder):
        raise ValueError("signature larger than the space reserved in the PDF")
    filled = b"<" + hex_signature.ljust(len(placeholder) - 2, b"0") + b">"
    return pdf[:contents_at] + filled + pdf[contents_end:]


def append_after_signature(pdf: bytes, extra: str | bytes = "Sửa sau khi ký") -> bytes:
    """Change the file after its last signature, as an edit after signing would.

    A ``str`` becomes a well-formed incremental update adding a page that shows it (a new page object
    appended to the /Pages tree, whose /Kids and /Count the update rewrites); ``bytes`` are appended
    raw, like trailing garbage from a broken transfer.
    """
    if isinstance(extra, bytes):
        return pdf + extra
    reader = PdfReader(io.BytesIO(pdf))
    size = int(reader.trailer["/Size"])
    root = reader.trailer.raw_get("/Root").idnum
    pages_ref = reader.trailer["/Root"].raw_get("/Pages")
    pages = pages_ref.get_object()
    page, content, font = size, size + 1, size + 2
    tree = DictionaryObject({key: pages.raw_get(key) for key in pages})
    tree[NameObject("/Kids")] = ArrayObject([*pages["/Kids"], IndirectObject(page, 0, reader)])
    tree[NameObject("/Count")] = NumberObject(int(pages["/Count"]) + 1)
    text = f"BT /F1 12 Tf 72 770 Td ({_ascii(extra)}) Tj ET".encode()
    return _incremental_update(
        pdf,
        {
            pages_ref.idnum: _serialise(tree),
            page: b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R >> >>"
            b" /Contents %d 0 R >>" % (pages_ref.idnum, font, content),
            content: _stream(text),
            font: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        },
        size + 3,
        root,
        _carried_trailer(reader),
    )


def break_byte_range(pdf: bytes, mode: str = "overlap") -> bytes:
    """Rewrite the last /ByteRange so its ranges overlap or leave a gap (same length, in place)."""
    matches = list(re.finditer(rb"/ByteRange \[0 (\d+) (\d+) (\d+)\] *", pdf))
    last = matches[-1]
    first_len, second_start, second_len = (int(g) for g in last.groups())
    if mode == "overlap":
        first_len += 10
    else:
        second_start += 10
        second_len -= 10
    replacement = b"/ByteRange [0 %d %d %d]" % (first_len, second_start, second_len)
    replacement = replacement.ljust(len(last.group(0)))
    return pdf[: last.start()] + replacement + pdf[last.end() :]
