"""Reading edXML packages (QCVN 102:2016; docs/domain.md §1): documents and status packages.

A package that declares no DOCTYPE is parsed by lxml with entities never substituted and
nothing fetched; any other package, and any lxml cannot parse, goes through defusedxml with
DTDs, entities and external references all refused, which rejects it or says why it is
malformed. An XML bomb or an external entity is a rejection, never an expansion or a file read.
Elements are matched by local name, in any order, which covers the QCVN 102 namespace
(prefixed or default), the older ``http://www.e-doc.vn/Schema/`` and the tolerated flat
``http://www.go.vn/eDoc`` variant alike.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import cast
from xml.etree.ElementTree import Element, ParseError

import pybase64
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring
from lxml import etree

from docflow.agency import normalise_code
from docflow.readers.limits import Limits
from docflow.readers.mojibake import misdeclared_utf8
from docflow.readers.text import clean_text, parse_document_date, parse_timestamp
from docflow.readers.zipfiles import read_signed_zip
from docflow.records import (
    BatchItem,
    BusinessType,
    Channel,
    DocumentRecord,
    RejectedItem,
    SignedPayload,
    Source,
    StatusEvent,
    document_key,
)

__all__ = ["read_edxml", "STATUS_CODES"]

STATUS_CODES = frozenset(f"{code:02d}" for code in range(1, 17))
_BUSINESS_TYPES = {"0": BusinessType.NEW, "1": BusinessType.REVOKE, "2": BusinessType.UPDATE, "3": BusinessType.REPLACE}
_REEXPORT = "ask the sender to re-export"
_BASE64_TEXT = re.compile(rb"^[A-Za-z0-9+/=\s]+$")
_BLANK = b"\xef\xbb\xbf \t\r\n"

log = logging.getLogger(__name__)


class _Refused(Exception):
    """A package that cannot be used; the message is the clerk-readable reason."""


# -- element access by local name -----------------------------------------------------------


def _local(element: Element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: Element | None, name: str) -> list[Element]:
    return [] if element is None else [child for child in element if _local(child) == name]


def _child(element: Element | None, *path: str) -> Element | None:
    for name in path:
        found = _children(element, name)
        element = found[0] if found else None
    return element


def _by_local_name(root: Element) -> dict[str, list[Element]]:
    """Every element under ``root`` by local name, in document order: one walk instead of one per look-up."""
    found: dict[str, list[Element]] = {}
    for element in root.iter():
        found.setdefault(_local(element), []).append(element)
    return found


def _first(elements: dict[str, list[Element]], name: str) -> Element | None:
    matches = elements.get(name)
    return matches[0] if matches else None


def _text(element: Element | None, *path: str) -> str | None:
    found = _child(element, *path)
    return clean_text(found.text) if found is not None else None


# -- parsing --------------------------------------------------------------------------------


def _parse(name: str, data: bytes) -> Element:
    body = data.lstrip(_BLANK)
    if not body.startswith(b"<"):
        body = _decode_legacy_base64(body)
    body = _utf8_as_declared(name, body)
    fast = _parse_without_doctype(body)
    return fast if fast is not None else _parse_defused(body)


def _utf8_as_declared(name: str, body: bytes) -> bytes:
    """UTF-8 bytes under an ISO-8859-1 (or other single-byte) declaration are read as UTF-8, with a note.

    Read as declared, every Vietnamese letter becomes two or three Latin ones ("huyá»‡n"): names nobody can
    read, and a district whose name no longer says "huyện" classified as a department. Valid UTF-8 with
    multi-byte sequences is not what real single-byte text looks like, so the bytes are the truth here.
    """
    corrected = misdeclared_utf8(body)
    if corrected is None:
        return body
    log.warning(
        "%s declares the encoding %s but its bytes are UTF-8: read as UTF-8; ask the sender to declare UTF-8",
        name,
        corrected[1],
    )
    return corrected[0]


def _parse_without_doctype(body: bytes) -> Element | None:
    """lxml's parse of a package with no DOCTYPE, or None to leave the package to ``_parse_defused``.

    defusedxml must run expat's callbacks in Python; libxml2 parses a package with a 100 KB
    attachment about four times faster, a tenth of ingesting it. Without a DOCTYPE there is no
    entity to expand or fetch; the check is a plain byte search because a document that starts
    with '<' and no NUL is in an ASCII-compatible encoding, where a DOCTYPE is those very bytes.
    """
    if not body.startswith(b"<") or b"\0" in body[:4] or b"<!DOCTYPE" in body:
        return None
    # Comments and processing instructions dropped, as ElementTree drops them: text around one stays one
    # string (lxml would otherwise cut an element's text at it).
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, remove_pis=True
    )
    try:
        return cast(Element, etree.fromstring(body, parser))
    except (etree.XMLSyntaxError, ValueError, LookupError):
        return None  # defusedxml gives the clerk its reason


def _parse_defused(body: bytes) -> Element:
    try:
        return cast(Element, fromstring(body, forbid_dtd=True))
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden):
        raise _Refused(
            "the edXML file declares a DOCTYPE or entities, which docflow refuses for safety "
            f"(they can expand into gigabytes or read other files); {_REEXPORT} without them"
        ) from None
    except ParseError as error:
        line = error.position[0] if error.position else "?"
        message = str(error).split(":")[0]
        raise _Refused(f"edXML file is not well-formed XML (line {line}): {message} — {_REEXPORT}") from error
    except (ValueError, UnicodeError, LookupError) as error:  # LookupError: an encoding Python does not know
        raise _Refused(f"edXML file could not be decoded as XML ({error}) — {_REEXPORT}") from error


def _decode_legacy_base64(body: bytes) -> bytes:
    # One provincial builder base64-encodes the whole SOAP-wrapped status package.
    if _BASE64_TEXT.match(body[:4096]):
        try:
            decoded = base64.b64decode(body).lstrip(_BLANK)
        except (binascii.Error, ValueError):
            decoded = b""
        if decoded.startswith(b"<"):
            return decoded
    raise _Refused(f"the file is not XML (it does not start with '<'), so it is not an edXML package — {_REEXPORT}")


def read_edxml(name: str, data: bytes, limits: Limits | None = None, *, zip_depth: int = 0) -> list[BatchItem]:
    """One edXML file → a ``DocumentRecord`` (plus rejected attachments) or a ``StatusEvent``.

    Never raises for bad input: a broken package is a single ``RejectedItem``.
    """
    limits = limits or Limits()
    if len(data) > limits.max_xml_bytes:
        return [
            RejectedItem(
                name,
                f"the edXML file is {len(data):,} bytes, over the {limits.max_xml_bytes:,} "
                "byte limit; send large attachments as separate signed files",
            )
        ]
    try:
        root = _parse(name, data)
        elements = _by_local_name(root)
        status = _first(elements, "Status")
        if status is not None:
            return [_status_event(name, status, limits)]
        header = _first(elements, "MessageHeader")
        return list(_document(name, elements, header if header is not None else root, limits, zip_depth))
    except _Refused as refused:
        return [RejectedItem(name, str(refused))]


def _required_date(text: str | None, field: str) -> date | None:
    if text is None:
        return None
    parsed = parse_document_date(text)
    if parsed is None:
        raise _Refused(f"{field} '{text}' is not a real date; expected yyyy/MM/dd")
    return parsed


def _document_id(element: Element | None, organ_id: str | None) -> str | None:
    """``DocumentId`` if written, else derived from OrganId, Code and PromulgationDate."""
    written = _text(element, "DocumentId")
    if written or element is None:
        return written
    code = _child(element, "Code")
    number, notation = _text(code, "CodeNumber"), _text(code, "CodeNotation")
    if number is None and code is not None and code.text and "/" in code.text:
        number, notation = (part.strip() for part in code.text.split("/", 1))
    day = _text(element, "PromulgationDate") or _text(element, "PromulgationInfo", "PromulgationDate")
    promulgation = parse_document_date(day) if day else None
    if organ_id and number and promulgation:
        return document_key(normalise_code(organ_id), promulgation, number, notation or "")
    return None


def _document(
    name: str, elements: dict[str, list[Element]], header: Element, limits: Limits, zip_depth: int
) -> Iterator[BatchItem]:
    sender_block = _child(header, "From")
    sender = _text(sender_block, "OrganId")
    if sender is None:
        raise _Refused(f"the edXML package has no sender code (From/OrganId) — {_REEXPORT}")
    sender = normalise_code(sender)
    document_id = _document_id(header, sender)
    if document_id is None:
        raise _Refused(
            "the edXML package has neither a DocumentId nor the code number and promulgation date "
            f"to derive one — {_REEXPORT}"
        )
    recipients = [
        (normalise_code(code), _text(block, "OrganName") or "")
        for block in _children(header, "To")
        if (code := _text(block, "OrganId"))
    ]
    business = _first(elements, "Bussiness")
    business_type = _business_type(business)
    paper = _text(business, "Paper") == "1"
    payloads, rejected = _attachments(name, elements, limits, zip_depth)
    record = DocumentRecord(
        document_id=document_id,
        source=Source.EDXML,
        sender=sender,
        recipients=tuple(dict.fromkeys(code for code, _ in recipients)),
        number=_text(header, "Code", "CodeNumber"),
        notation=_text(header, "Code", "CodeNotation"),
        promulgation_date=_required_date(_text(header, "PromulgationInfo", "PromulgationDate"), "PromulgationDate"),
        type_name=_text(header, "DocumentType", "TypeName"),
        subject=_text(header, "Subject"),
        channel=Channel.BOTH if paper else Channel.ELECTRONIC,
        business_type=business_type,
        paper_copy=paper,
        due_date=_optional_date(_text(header, "DueDate")),
        sender_name=_text(sender_block, "OrganName"),
        recipient_names=tuple((code, label) for code, label in recipients if label),
        replaces=_named_documents(header, business, document_id) if business_type is not BusinessType.NEW else (),
        sent_at=_sent_at(elements),
        payloads=tuple(payloads),
        item_name=name,
    )
    _check_lengths(record, limits)
    yield record
    yield from rejected


def _optional_date(text: str | None) -> date | None:
    # A garbled due date should not cost the clerk the whole document.
    return parse_document_date(text) if text else None


def _business_type(business: Element | None) -> BusinessType:
    raw = _text(business, "BussinessDocType")
    if raw is None:
        return BusinessType.NEW
    if raw not in _BUSINESS_TYPES:
        raise _Refused(
            f"Bussiness/BussinessDocType '{raw}' is not one of 0 (new), 1 (revoke), 2 (update), "
            f"3 (replace) — {_REEXPORT}"
        )
    return _BUSINESS_TYPES[raw]


def _named_documents(header: Element, business: Element | None, own_id: str) -> tuple[str, ...]:
    """The documents a revocation, update or replacement acts on."""
    candidates = [_text(business, "DocumentId")]
    if business is not None:
        candidates += [
            clean_text(found.text)
            for info in business.iter()
            if _local(info) == "ReplacementInfo"
            for found in _children(info, "DocumentId")
        ]
    candidates += [_document_id(block, _text(block, "OrganId")) for block in _children(header, "ResponseFor")]
    return tuple(dict.fromkeys(c for c in candidates if c and c != own_id))


def _sent_at(elements: dict[str, list[Element]]) -> datetime | None:
    trace = _first(elements, "TraceHeader")
    stamp = _text(trace, "Timestamp")
    return parse_timestamp(stamp) if stamp else None


def _check_lengths(record: DocumentRecord | StatusEvent, limits: Limits) -> None:
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if isinstance(value, str) and len(value) > limits.max_field_chars:
            raise _Refused(
                f"the field {field.name} is {len(value):,} characters long, over the "
                f"{limits.max_field_chars:,} limit — {_REEXPORT}"
            )


# -- attachments ----------------------------------------------------------------------------


def _attachment_elements(elements: dict[str, list[Element]]) -> Iterator[tuple[str, Element]]:
    index = 0
    for attachment in elements.get("Attachment", []):
        encoded = _child(attachment, "ContentTransferEncoded")
        if encoded is None:
            encoded = _child(attachment, "Content")  # the flat go.vn variant
        if encoded is None:
            continue
        index += 1
        label = _text(attachment, "AttachmentName") or _text(attachment, "ContentId") or f"attachment-{index}"
        yield label.replace("\\", "/").rsplit("/", 1)[-1], encoded


def _attachments(
    name: str, elements: dict[str, list[Element]], limits: Limits, zip_depth: int
) -> tuple[list[SignedPayload], list[RejectedItem]]:
    payloads: list[SignedPayload] = []
    rejected: list[RejectedItem] = []
    for label, encoded in _attachment_elements(elements):
        item_name = f"{name}/{label}"
        text = encoded.text or ""
        # Checked before decoding: base64 is 4 characters for every 3 bytes.
        if len(text) // 4 * 3 > limits.max_member_bytes:
            rejected.append(
                RejectedItem(
                    item_name,
                    f"the attachment is over the {limits.max_member_bytes:,} byte "
                    "limit for one file; it was not decoded",
                )
            )
            continue
        data = _decode_base64(text)
        if data is None:
            rejected.append(RejectedItem(item_name, f"the attachment is not valid base64 — {_REEXPORT}"))
            continue
        if data.startswith(b"PK\x03\x04"):
            found, problems = read_signed_zip(item_name, data, limits, zip_depth)
            payloads += found
            rejected += problems
        elif b"%PDF-" in data[:1024]:
            payloads.append(SignedPayload(item_name, data, kind="pdf"))
        elif label.lower().endswith(".p7m"):
            payloads.append(SignedPayload(item_name, data, kind="cms-attached"))
        else:
            rejected.append(
                RejectedItem(
                    item_name,
                    "the attachment is neither a PDF nor a zip holding one, so its signatures were not checked",
                )
            )
    return payloads, rejected


def _decode_base64(text: str) -> bytes | None:
    try:
        # Unwrapped base64, as most exporters write it: pybase64's SIMD decoder is 35x faster than binascii
        # (4 against 128 µs for an 80 KB PDF, a sixth of the writer's time per package). It accepts a subset of
        # what the rules accept, with the same bytes; whatever it refuses, the rules decide.
        return pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return _decode_base64_by_the_rules(text)


def _decode_base64_by_the_rules(text: str) -> bytes | None:
    """What an attachment may hold: base64, possibly in lines, with nothing outside the alphabet."""
    try:
        # str.split drops the line breaks base64 is wrapped in; ~15x faster than re.sub on 100 KB files.
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


# -- status packages --------------------------------------------------------------------------


def _status_event(name: str, status: Element, limits: Limits) -> StatusEvent:
    response = _child(status, "ResponseFor")
    reporting = _text(status, "From", "OrganId")
    document_id = _document_id(response, _text(response, "OrganId"))
    if document_id is None:
        raise _Refused(
            f"the status package does not say which document it is about (ResponseFor/DocumentId) — {_REEXPORT}"
        )
    if reporting is None:
        raise _Refused(f"the status package has no reporting unit code (From/OrganId) — {_REEXPORT}")
    code = _text(status, "StatusCode")
    if code is None or code.zfill(2) not in STATUS_CODES:
        raise _Refused(f"StatusCode '{code or ''}' is not one of 01–16 — {_REEXPORT}")
    stamp = _text(status, "Timestamp")
    timestamp = parse_timestamp(stamp) if stamp else None
    if stamp and timestamp is None:
        raise _Refused(f"Timestamp '{stamp}' is not in yyyy/MM/dd HH:mm:ss or dd/MM/yyyy HH:mm:ss — {_REEXPORT}")
    event = StatusEvent(
        document_id=document_id,
        reporting_unit=normalise_code(reporting),
        code=code.zfill(2),
        description=_text(status, "Description"),
        timestamp=timestamp,
        item_name=name,
    )
    _check_lengths(event, limits)
    return event
