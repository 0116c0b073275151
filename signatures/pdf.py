"""Signatures embedded in PDFs: finding them with pypdf and checking their byte ranges.

Each signature dictionary's /ByteRange must be [0 a b c] with the gap a..b being
exactly the hex /Contents string; the bytes it covers are then verified as a
detached CMS signature. Document timestamps (/SubFilter ETSI.RFC3161) are not
signatures of a person or agency and are not reported.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import re
from collections import deque
from dataclasses import dataclass
from typing import cast

from pypdf import PdfReader
from pypdf.generic import ArrayObject, ByteStringObject, DictionaryObject, IndirectObject, TextStringObject

__all__ = [
    "PdfSignature",
    "PdfFormatError",
    "SignedPdf",
    "find_signatures",
    "read_signed_pdf",
    "covered_bytes",
    "DOCUMENT_TIMESTAMP",
    "SHA1_SUBFILTER",
]

DOCUMENT_TIMESTAMP = "/ETSI.RFC3161"
SHA1_SUBFILTER = "/adbe.pkcs7.sha1"
_MAX_FIELDS = 10_000
_MAX_NAME = 200
_TRAILING_NOISE = b" \t\r\n\x00"
_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
_SUBFILTER = re.compile(rb"/SubFilter\s*/([A-Za-z0-9.#_+-]+)")
_DOCMDP = re.compile(rb"/TransformMethod\s*/DocMDP\b")
_DOCMDP_P = re.compile(rb"/TransformParams\s*<<[^>]*?/P\s+(\d+)")


class PdfFormatError(ValueError):
    """The PDF cannot be read at all; the message is a plain-words reason, ``detail`` the library's words."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


_DAMAGED = "The PDF is damaged and docflow cannot read its signatures; ask the sender for a new copy."
_ENCRYPTED = "The PDF is encrypted and docflow cannot read its signatures; ask for an unencrypted copy."


@dataclass(frozen=True)
class PdfSignature:
    field_name: str
    byte_range: tuple[int, ...]
    contents: bytes
    subfilter: str
    problem: str | None = None
    """Why the byte range is unusable, or None when it is well formed."""
    object_number: int | None = None
    """The signature dictionary's object number, when it is an indirect object."""
    docmdp: int | None = None
    """The /P of a DocMDP transform in its /Reference (a certification signature), else None."""

    @property
    def start(self) -> int:
        return self.byte_range[2] if len(self.byte_range) == 4 else 0

    def signed_bytes(self) -> int | None:
        return self.byte_range[2] + self.byte_range[3] if self.problem is None else None

    def covers_whole_file(self, data: bytes) -> bool | None:
        end = self.signed_bytes()
        return None if end is None else data[end:].strip(_TRAILING_NOISE) == b""


@dataclass(frozen=True)
class SignedPdf:
    """A PDF read once: its reader (for later analysis) and its signature dictionaries in file order."""

    reader: PdfReader
    signatures: tuple[PdfSignature, ...]


def find_signatures(data: bytes) -> list[PdfSignature]:
    """Signature dictionaries in file order (by where their signed revision ends)."""
    return list(read_signed_pdf(data).signatures)


def read_signed_pdf(data: bytes) -> SignedPdf:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        _decrypt(reader)
        root = cast(DictionaryObject, reader.trailer["/Root"].get_object())
        form = root.get("/AcroForm")
        fields = form.get_object().get("/Fields") if form is not None else None
        found = list(_signature_fields(reader, fields, data))
    except PdfFormatError:
        raise
    except (Exception, RecursionError) as error:  # pypdf raises many types on hostile files
        raise PdfFormatError(_DAMAGED, f"{type(error).__name__}: {error}") from error
    # A cloned dictionary may repeat a signature with its /Contents padded differently: one signature per
    # signed range and CMS value, the padding aside.
    unique = {(sig.byte_range, sig.contents.rstrip(b"\x00")): sig for sig in reversed(found)}
    return SignedPdf(reader, tuple(sorted(unique.values(), key=_file_order)))


def _decrypt(reader: PdfReader) -> None:
    """Signature values are never encrypted, but the dictionaries around them are; an empty user password
    (permissions-only encryption) is tried, as every viewer does."""
    if not reader.is_encrypted:
        return
    try:
        opened = reader.decrypt("")
    except Exception as error:  # noqa: BLE001 - unsupported algorithms raise NotImplementedError and others
        raise PdfFormatError(_ENCRYPTED, f"{type(error).__name__}: {error}") from error
    if not opened:
        raise PdfFormatError(_ENCRYPTED, "FileNotDecryptedError: the PDF needs a password")


def _file_order(signature: PdfSignature) -> tuple[int, int]:
    byte_range = signature.byte_range
    return (byte_range[2] + byte_range[3], byte_range[1]) if len(byte_range) == 4 else (0, 0)


def _signature_fields(reader: PdfReader, fields: object, data: bytes):  # type: ignore[no-untyped-def]
    """Walk the field tree breadth first, each object once: a /Kids entry may name its own field or an
    ancestor, and hostile files list one field thousands of times."""
    pending: deque[tuple[object, str]] = deque((field, "") for field in _as_list(fields))
    visited: set[tuple[int, int]] = set()
    seen = 0
    while pending and seen < _MAX_FIELDS:
        field_ref, parent = pending.popleft()
        if isinstance(field_ref, IndirectObject):
            key = (field_ref.idnum, field_ref.generation)
            if key in visited:
                continue
            visited.add(key)
        seen += 1
        field = field_ref.get_object()  # type: ignore[attr-defined]
        if not isinstance(field, DictionaryObject):
            continue
        name = _field_name(parent, field.get("/T", ""))
        if len(pending) < _MAX_FIELDS:
            pending.extend((kid, name) for kid in _as_list(field.get("/Kids")) if not _is_visited(kid, visited))
        if field.get("/FT") != "/Sig" or "/V" not in field:
            continue
        fast = _read_signature_in_place(reader, field.raw_get("/V"), name, data)
        if fast is not None:
            yield fast
            continue
        value = field["/V"].get_object()
        if isinstance(value, DictionaryObject) and "/ByteRange" in value:
            reference = field.raw_get("/V")
            yield _read_signature(name, value, data, reference.idnum if isinstance(reference, IndirectObject) else None)


def _is_visited(kid: object, visited: set[tuple[int, int]]) -> bool:
    return isinstance(kid, IndirectObject) and (kid.idnum, kid.generation) in visited


def _field_name(parent: str, title: object) -> str:
    """The fully qualified field name, cut short: it appears in reasons, and a hostile /T can be megabytes."""
    name = f"{parent}.{title}".strip(".")
    return name if len(name) <= _MAX_NAME else name[: _MAX_NAME - 1] + "…"


def _read_signature_in_place(reader: PdfReader, reference: object, name: str, data: bytes) -> PdfSignature | None:
    """Read /ByteRange and /SubFilter from the signature object's own bytes.

    pypdf decodes a /Contents hex string one character at a time (tens of milliseconds
    for a typical signature); the signed bytes already locate it, so only the object's
    position comes from pypdf. Anything unusual falls back to pypdf's full parse.
    """
    if not isinstance(reference, IndirectObject):
        return None
    start = reader.xref.get(reference.generation, {}).get(reference.idnum)
    end = data.find(b"endobj", start) if isinstance(start, int) else -1
    if end < 0 or not isinstance(start, int):
        return None
    text = data[start:end]
    byte_range = _BYTE_RANGE.search(text)
    if byte_range is None:
        return None
    numbers = tuple(int(number) for number in byte_range.groups())
    contents_at = numbers[1]
    if not (start < contents_at < end and data[start:contents_at].rstrip().endswith(b"/Contents")):
        return None
    gap_end = data.find(b">", contents_at) + 1
    contents = _unhex(data[contents_at:gap_end])
    if contents is None:
        return None
    subfilter = _SUBFILTER.search(text)
    subfilter_name = "/" + subfilter.group(1).decode("ascii", "replace") if subfilter else ""
    problem = _byte_range_problem(numbers, contents, data, gap_is_contents=gap_end == numbers[2])
    return PdfSignature(name, numbers, contents, subfilter_name, problem, reference.idnum, _docmdp_in(text))


def _docmdp_in(text: bytes) -> int | None:
    """The DocMDP /P written in a signature dictionary's own bytes (2 when the transform omits it)."""
    if _DOCMDP.search(text) is None:
        return None
    level = _DOCMDP_P.search(text)
    return int(level.group(1)) if level else 2


def _unhex(hex_string: bytes) -> bytes | None:
    if not (hex_string.startswith(b"<") and hex_string.endswith(b">")):
        return None
    try:
        # Signers write /Contents without white space; removing it first would copy the string for nothing.
        return binascii.unhexlify(hex_string[1:-1])
    except (binascii.Error, ValueError):
        pass
    try:
        return binascii.unhexlify(hex_string[1:-1].translate(None, b" \r\n\t\f"))
    except (binascii.Error, ValueError):
        return None


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    value = value.get_object() if hasattr(value, "get_object") else value
    return list(value) if isinstance(value, ArrayObject) else []


def _read_signature(name: str, value: DictionaryObject, data: bytes, number: int | None) -> PdfSignature:
    subfilter = str(value.get("/SubFilter", ""))
    contents_bytes = _string_bytes(value.get("/Contents"))
    try:
        byte_range = tuple(int(number) for number in cast(ArrayObject, value["/ByteRange"].get_object()))
    except (TypeError, ValueError):
        return PdfSignature(name, (), contents_bytes, subfilter, "its /ByteRange is not a list of numbers", number)
    problem = _byte_range_problem(byte_range, contents_bytes, data)
    return PdfSignature(name, byte_range, contents_bytes, subfilter, problem, number, _docmdp_of(value))


def _docmdp_of(value: DictionaryObject) -> int | None:
    references = value.get("/Reference")
    references = references.get_object() if isinstance(references, IndirectObject) else references
    for reference in references if isinstance(references, ArrayObject) else []:
        reference = reference.get_object()
        if isinstance(reference, DictionaryObject) and reference.get("/TransformMethod") == "/DocMDP":
            params = reference.get("/TransformParams")
            params = params.get_object() if isinstance(params, IndirectObject) else params
            level = params.get("/P", 2) if isinstance(params, DictionaryObject) else 2
            return int(level) if isinstance(level, int) else 2
    return None


def _string_bytes(value: object) -> bytes:
    """A PDF string's bytes: pypdf decodes a literal string that looks like text into a TextStringObject."""
    value = value.get_object() if isinstance(value, IndirectObject) else value
    if isinstance(value, TextStringObject):
        return value.original_bytes
    if isinstance(value, ByteStringObject):
        return bytes(value)
    return b""


def _byte_range_problem(
    byte_range: tuple[int, ...], contents: bytes, data: bytes, *, gap_is_contents: bool = False
) -> str | None:
    """``gap_is_contents``: ``contents`` was decoded from exactly the gap, so decoding it again is skipped
    (that second decoding of a padded hex string was a tenth of a PDF verification)."""
    if len(byte_range) != 4:
        return f"its /ByteRange has {len(byte_range)} numbers instead of 4"
    start, first_length, second_start, second_length = byte_range
    if start != 0:
        return "its /ByteRange does not start at the beginning of the file"
    if min(byte_range) < 0 or second_start <= first_length:
        return "its /ByteRange ranges overlap or run backwards"
    if second_start + second_length > len(data):
        return "its /ByteRange runs past the end of the file"
    if gap_is_contents:
        return None
    gap_value = _unhex(data[first_length:second_start])
    if gap_value is None:
        return "the bytes its /ByteRange leaves out are not the /Contents hex string"
    if gap_value.rstrip(b"\x00") != contents.rstrip(b"\x00"):
        return "the /Contents string is not the one its /ByteRange leaves out"
    return None


def covered_bytes(signature: PdfSignature, data: bytes) -> bytes:
    _, first_length, second_start, second_length = signature.byte_range
    return data[:first_length] + data[second_start : second_start + second_length]


def sha1_of(data: bytes) -> bytes:
    return hashlib.sha1(data).digest()  # noqa: S324 - adbe.pkcs7.sha1 is defined with SHA-1
