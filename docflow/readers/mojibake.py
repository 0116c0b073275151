"""UTF-8 read as a single-byte encoding: finding it in a file before it is read, and in a name already stored.

A package that declares ``ISO-8859-1`` (or Windows-1252, 1258…) but holds UTF-8 bytes turns
"UBND huyện Ba Bể" into "UBND huyá»‡n Ba Bá»ƒ": the name is unreadable, and the unit's level,
derived from the name, comes out wrong. UTF-8's multi-byte sequences are so constrained that
real single-byte Vietnamese or Western text essentially never forms them, which is what both
tests rest on.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["misdeclared_utf8", "garbled"]

_DECLARATION = re.compile(rb"^(<\?xml[^>]{0,200}?encoding\s*=\s*)([\"'])([A-Za-z0-9._:-]{1,40})\2")
_UNICODE = re.compile(r"^(utf|ucs|unicode)", re.IGNORECASE)

# Windows-1252 puts printable characters where Latin-1 has C1 controls; a lossy reader may have used either.
_CP1252_BYTES = {char: byte for byte in range(0x80, 0xA0) if (char := bytes([byte]).decode("cp1252", errors="ignore"))}


def misdeclared_utf8(body: bytes) -> tuple[bytes, str] | None:
    """``body`` with its XML declaration corrected to UTF-8, and the encoding it declared; None when it is right.

    Only a declaration of a non-Unicode encoding over bytes that are valid UTF-8 with at least one
    multi-byte sequence is corrected.
    """
    match = _DECLARATION.match(body)
    if match is None or _UNICODE.match(match.group(3).decode("ascii")):
        return None
    declared = match.group(3).decode("ascii")
    try:
        codecs.lookup(declared)
    except LookupError:
        return None  # an unknown encoding is refused as such by the parser
    if body.isascii():
        return None
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return match.group(1) + match.group(2) + b"UTF-8" + match.group(2) + body[match.end() :], declared


def garbled(text: str | None) -> bool:
    """True for a name holding U+FFFD, or UTF-8 bytes shown one character per byte (Latin-1 or Windows-1252)."""
    if not text:
        return False
    if "\ufffd" in text:
        return True
    if text.isascii():
        return False
    raw = bytearray()
    for char in text:
        if ord(char) < 0x100:
            raw.append(ord(char))
        elif char in _CP1252_BYTES:
            raw.append(_CP1252_BYTES[char])
        else:
            return False  # a character no single-byte reading of UTF-8 produces: real text
    try:
        bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
