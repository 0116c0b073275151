"""The one home for reading text out of what an office hands over: decoding, cleaning, dates, headers.

Every reader uses these (edXML, register exports, unit and certificate lists), so a file one reader
accepts the others read the same way: UTF-8 with or without a BOM, UTF-16 (with a BOM, or without
one as some Excel versions write it) and Windows-1258, always NFC; Vietnamese headers matched
without case or diacritics; dates in the spellings the province's software and Excel write (day first:
``11/5/26`` is 11 May 2026, never 5 November).
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from datetime import date, datetime

__all__ = [
    "ENCODINGS_READ",
    "DATE_FORMS",
    "candidate_encodings",
    "decode_export",
    "clean_text",
    "header_key",
    "parse_document_date",
    "parse_timestamp",
]

ENCODINGS_READ = "UTF-8, UTF-16 or Windows-1258"
"""The encodings ``decode_export`` reads, as a reason names them."""

DATE_FORMS = "dd/mm/yyyy, dd/mm/yy, yyyy-mm-dd or yyyy/mm/dd"
"""The spellings ``parse_document_date`` reads, as a reason names them."""

_DATE_FORMATS = ("%Y/%m/%d", "%Y-%m-%d", "%d/%m/%Y")
_SHORT_YEAR_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2})")
"""Excel's short date in a Vietnamese locale (``11/5/26``): day first, and a two-digit year is 20yy (documents
of this century; Python's %y would make 69–99 the 1900s)."""
_TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%d/%m/%Y %H:%M")

_CACHED_VALUES = 4096
"""A register repeats a few hundred dates and a handful of words: parse each once (pure functions)."""


def candidate_encodings(head: bytes) -> list[str]:
    """The encodings an export starting with ``head`` (its first 200 bytes or more) may be in, likeliest first."""
    if head.startswith(codecs.BOM_UTF8):
        return ["utf-8-sig"]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ["utf-16"]
    if len(head) >= 4 and head[1:200:2].count(0) > len(head[1:200:2]) // 2:
        return ["utf-16-le"]  # BOM-less UTF-16 from some Excel versions
    return ["utf-8", "cp1258"]


def decode_export(data: bytes) -> str | None:
    """Text of an export in UTF-8 (BOM or not), UTF-16 or Windows-1258, as NFC; None if none fits."""
    for encoding in candidate_encodings(data):
        try:
            # cp1258 writes tone marks as combining characters: NFC puts them back on the letter.
            return unicodedata.normalize("NFC", data.decode(encoding))
        except UnicodeDecodeError:
            continue
    return None


def clean_text(text: str | None) -> str | None:
    """NFC, stripped; None for empty. Windows tools write Vietnamese decomposed, others composed."""
    if text is None:
        return None
    # ASCII is NFC already; skipping the normalisation matters on registers of a hundred thousand rows.
    cleaned = (text if text.isascii() else unicodedata.normalize("NFC", text)).strip()
    return cleaned or None


@functools.lru_cache(maxsize=_CACHED_VALUES)
def header_key(text: str) -> str:
    """``"Mã đơn vị"`` → ``ma_don_vi``: headers and values compared without case or diacritics."""
    stripped = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    lowered = stripped.replace("đ", "d").replace("Đ", "D").lower()
    return re.sub(r"[^a-z0-9]+", "_", lowered).strip("_")


@functools.lru_cache(maxsize=_CACHED_VALUES)
def parse_document_date(text: str) -> date | None:
    """``yyyy/MM/dd``, ``yyyy-MM-dd``, ``dd/MM/yyyy`` or ``dd/MM/yy`` (a trailing time is ignored); None if not a
    real date."""
    head = text.strip().split(" ")[0].split("T")[0]
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(head, pattern).date()
        except ValueError:
            continue
    short = _SHORT_YEAR_DATE.fullmatch(head)
    if short is None:
        return None
    day, month, year = (int(part) for part in short.groups())
    try:
        return date(2000 + year, month, day)
    except ValueError:
        return None


def parse_timestamp(text: str) -> datetime | None:
    """``yyyy/MM/dd HH:mm:ss`` or ``dd/MM/yyyy HH:mm:ss`` (as written: local time), ISO, or a bare date."""
    stripped = text.strip()
    for pattern in _TIME_FORMATS:
        try:
            return datetime.strptime(stripped, pattern)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(stripped)
    except ValueError:
        day = parse_document_date(stripped) if " " not in stripped else None
        return datetime(day.year, day.month, day.day) if day else None
