"""S/MIME messages (.eml): the CMS and the signed content, as mail clients send them.

multipart/signed carries the content as the first part and a detached signature
as the second; the signature covers the first part's bytes exactly as
transmitted (canonical CRLF line ends), so those bytes are cut from the raw
message rather than re-serialised by the email package.
"""

from __future__ import annotations

import email
import email.policy
import re

__all__ = ["SmimeFormatError", "extract_smime", "looks_like_smime"]


_HEADER_LIMIT = 64 * 1024
"""Bytes searched for the top-level headers: mail headers are short, a signature file may be huge."""
_SIGNED_TYPES = (b"multipart/signed", b"application/pkcs7-mime", b"application/x-pkcs7-mime")
_HEADER_LINE = re.compile(rb"[!-9;-~]+:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*\r?\n")


def looks_like_smime(data: bytes) -> bool:
    """Whether ``data`` is a mail message whose top-level Content-Type is a signed S/MIME type.

    Judged by content, not by the file name: mail saved as .msg, .txt or with no extension is common.
    Only a run of RFC 5322 header lines at the very start counts, so a PDF or a CMS never matches.
    """
    head = data[:_HEADER_LIMIT]
    position = 0
    while match := _HEADER_LINE.match(head, position):
        line = match.group(0)
        if line[:13].lower() == b"content-type:":
            value = line[13:].lower()
            return any(kind in value for kind in _SIGNED_TYPES)
        position = match.end()
    return False


class SmimeFormatError(ValueError):
    """Not a signed S/MIME message; the message is a plain-words reason."""


def extract_smime(raw: bytes) -> tuple[bytes, bytes | None]:
    """(CMS bytes, detached content or None for an opaque application/pkcs7-mime message)."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    content_type = message.get_content_type()
    if content_type == "multipart/signed":
        return _multipart_signed(raw, message)
    if content_type in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        payload = message.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload:
            raise SmimeFormatError("the S/MIME message has an empty signed body")
        return payload, None
    raise SmimeFormatError(f"the message is '{content_type}', not a signed S/MIME message")


def _multipart_signed(raw: bytes, message: email.message.Message) -> tuple[bytes, bytes]:
    boundary = message.get_boundary()
    parts = message.get_payload()
    if not boundary or not isinstance(parts, list) or len(parts) != 2:
        raise SmimeFormatError("the multipart/signed message does not have exactly two parts")
    signature = parts[1].get_payload(decode=True) if isinstance(parts[1], email.message.Message) else None
    if not isinstance(signature, bytes) or not signature:
        raise SmimeFormatError("the multipart/signed message has an empty signature part")
    return signature, _first_part_bytes(raw, boundary.encode())


def _first_part_bytes(raw: bytes, boundary: bytes) -> bytes:
    delimiter = re.compile(rb"(?:^|\r?\n)--" + re.escape(boundary) + rb"[ \t]*\r?\n")
    first = delimiter.search(raw)
    if first is None:
        raise SmimeFormatError("the multipart/signed boundary was not found")
    closing = re.compile(rb"\r?\n--" + re.escape(boundary)).search(raw, first.end())
    if closing is None:
        raise SmimeFormatError("the multipart/signed message is truncated")
    part = raw[first.end() : closing.start()]
    return re.sub(rb"\r?\n", b"\r\n", part)
