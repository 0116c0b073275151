"""Reading register exports (sổ đăng ký văn bản đi / đến) as CSV or JSON Lines.

One row per document, paper ones included, so that electronic-issuance rates have a true
denominator. Columns are matched by header name — English or the Vietnamese a provincial
export uses, with or without diacritics, in any case — and each bad row becomes a
``RejectedItem`` naming its row and what to fix.

A register is streamed (``stream_register``): a province's year can hold millions of rows, so the
file is read twice, line by line, never whole — once to choose its encoding (a Windows-1258 export
is only known to be one when some byte is not UTF-8, however far in), once to yield its rows.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO, TypeVar

from docflow.agency import CODE_PATTERN, normalise_code
from docflow.readers.limits import Limits
from docflow.readers.text import DATE_FORMS, candidate_encodings, clean_text, header_key, parse_document_date
from docflow.records import BatchItem, Channel, Direction, DocumentRecord, RejectedItem, Source, document_key

__all__ = ["read_register", "stream_register", "RegisterOpener", "COLUMN_ALIASES", "REQUIRED_COLUMNS"]

RegisterOpener = Callable[[bool], AbstractContextManager[BinaryIO]]
"""Opens the register's bytes afresh; the flag is True for the pass whose bytes count (the batch's budget)."""

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "unit_code": ("unit_code", "unit", "ma_don_vi", "ma_dinh_danh", "don_vi"),
    "direction": ("direction", "huong", "loai_so"),
    "number": ("number", "so", "so_van_ban"),
    "notation": ("notation", "ky_hieu"),
    "date": ("date", "ngay_ban_hanh", "ngay_van_ban", "ngay"),
    "type": ("type", "loai", "loai_van_ban"),
    "channel": ("channel", "kenh", "hinh_thuc"),
    "confidential": ("confidential", "mat", "do_mat"),
    "subject": ("subject", "trich_yeu"),
    "document_id": ("document_id", "ma_van_ban", "documentid"),
    "counterpart": ("counterpart", "noi_nhan", "noi_gui", "co_quan_ban_hanh"),
    "file": ("file", "tep", "tep_tin", "tep_dinh_kem"),
}
"""Canonical column → accepted header keys (see ``header_key``)."""

REQUIRED_COLUMNS = ("unit_code", "direction", "number", "notation", "date", "channel")

_DIRECTIONS = {
    "out": Direction.OUT,
    "di": Direction.OUT,
    "van_ban_di": Direction.OUT,
    "outgoing": Direction.OUT,
    "in": Direction.IN,
    "den": Direction.IN,
    "van_ban_den": Direction.IN,
    "incoming": Direction.IN,
}
_CHANNELS = {
    "electronic": Channel.ELECTRONIC,
    "dien_tu": Channel.ELECTRONIC,
    "paper": Channel.PAPER,
    "giay": Channel.PAPER,
    "both": Channel.BOTH,
    "ca_hai": Channel.BOTH,
}
_FLAGS = {
    "0": False,
    "1": True,
    "": False,
    "false": False,
    "true": True,
    "no": False,
    "yes": True,
    "khong": False,
    "co": True,
}
_CODE_SPLIT = re.compile(r"[;,\s]+")
_HEADER_SEARCH_ROWS = 10
"""Excel exports often put a title (``SỔ ĐĂNG KÝ VĂN BẢN ĐI``) above the header."""


_Choice = TypeVar("_Choice")

_CACHED_VALUES = 4096
"""A register repeats a few hundred dates and a handful of words: parse each once (pure functions)."""


class _RowRejected(Exception):
    """One row cannot be used; the message is the reason."""


@dataclass(frozen=True)
class _Row:
    label: str
    values: dict[str, str]
    """Canonical column → cleaned value (absent when empty)."""


def read_register(
    name: str, data: bytes, columns: Mapping[str, str] | None = None, limits: Limits | None = None
) -> list[BatchItem]:
    """A register export → one ``DocumentRecord`` (or ``RejectedItem``) per row (``stream_register``, in a list)."""
    return list(stream_register(name, lambda _counted: io.BytesIO(data), columns, limits))


def stream_register(
    name: str, opener: RegisterOpener, columns: Mapping[str, str] | None = None, limits: Limits | None = None
) -> Iterator[BatchItem]:
    """A register export → one ``DocumentRecord`` (or ``RejectedItem``) per row, read line by line.

    ``columns`` overrides the header for a canonical column (``{"number": "Số VB"}``).
    A file with no recognisable header is one ``RejectedItem``.
    """
    limits = limits or Limits()
    encoding = _encoding(opener)
    if encoding is None:
        yield RejectedItem(
            name, "the file is neither UTF-8, UTF-16 nor Windows-1258 text; save it again as CSV UTF-8 from Excel"
        )
        return
    aliases = _aliases(columns)
    with opener(True) as stream:
        lines = _text_lines(stream, encoding)
        head = list(itertools.islice(lines, _HEADER_SEARCH_ROWS))
        text_head = "".join(head)
        all_lines = itertools.chain(head, lines)
        if _is_json_lines(name, text_head):
            rows = _json_rows(name, all_lines, aliases)
        else:
            rows = _csv_rows(name, all_lines, _delimiter(text_head, aliases), aliases)
        for row in rows:
            if isinstance(row, RejectedItem):
                yield row
                continue
            try:
                yield _record(row, limits)
            except _RowRejected as problem:
                yield RejectedItem(row.label, str(problem))


_DECODE_CHUNK = 1 << 20


def _encoding(opener: RegisterOpener) -> str | None:
    """The first candidate encoding the whole file decodes in, checked in chunks (nothing kept); None if none."""
    with opener(False) as stream:
        candidates = candidate_encodings(stream.read(200))
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with opener(False) as stream:
                while chunk := stream.read(_DECODE_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    return None


def _text_lines(stream: BinaryIO, encoding: str) -> Iterator[str]:
    """The file's lines, ends kept (CR, LF or CRLF, as csv wants them with newline=""), each as NFC.

    cp1258 writes tone marks as combining characters: NFC puts them back on the letter. A line is a
    whole unit for NFC (no mark combines across a line end), so line by line equals the file at once.
    """
    for line in io.TextIOWrapper(stream, encoding=encoding, newline=""):
        yield line if line.isascii() or unicodedata.is_normalized("NFC", line) else unicodedata.normalize("NFC", line)


def _is_json_lines(name: str, text: str) -> bool:
    return name.lower().endswith((".jsonl", ".ndjson")) or text.lstrip().startswith("{")


def _aliases(columns: Mapping[str, str] | None) -> dict[str, str]:
    """Header key → canonical column; a configured header wins over the built-in names."""
    aliases = {alias: canonical for canonical, names in COLUMN_ALIASES.items() for alias in names}
    for canonical, header in (columns or {}).items():
        aliases[header_key(header)] = canonical
    return aliases


def _map_header(header: list[str], aliases: Mapping[str, str]) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for index, title in enumerate(header):
        canonical = aliases.get(header_key(title))
        if canonical and canonical not in mapping.values():
            mapping[index] = canonical
    return mapping


def _missing(found: set[str]) -> list[str]:
    return [column for column in REQUIRED_COLUMNS if column not in found]


def _header_problem(name: str, missing: list[str], seen: list[str]) -> RejectedItem:
    wanted = ", ".join(f"{column}/{COLUMN_ALIASES[column][2 if column == 'unit_code' else 1]}" for column in missing)
    shown = ", ".join(seen[:12]) or "nothing"
    return RejectedItem(
        name,
        f"no recognisable register header: the columns {wanted} are missing (found: {shown}); "
        "rename the headers or set [register.columns] in docflow.toml",
    )


def _csv_rows(
    name: str, lines: Iterable[str], delimiter: str, aliases: Mapping[str, str]
) -> Iterator[_Row | RejectedItem]:
    # The lines keep their ends (newline=""), so csv sees a bare CR (old Mac/Excel exports) as a line end.
    reader = csv.reader(lines, delimiter=delimiter)
    mapping: dict[int, str] | None = None
    first_seen: list[str] = []
    for cells in _tolerant(reader):
        if isinstance(cells, csv.Error):
            yield RejectedItem(f"{name} row {reader.line_num}", _csv_problem(cells))
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if mapping is None:
            candidate = _map_header(cells, aliases)
            if not _missing(set(candidate.values())):
                mapping = candidate
            elif reader.line_num > _HEADER_SEARCH_ROWS:
                break
            first_seen = first_seen or [cell.strip() for cell in cells]
            continue
        yield _Row(
            f"{name} row {reader.line_num}",
            {
                column: value
                for index, column in mapping.items()
                if index < len(cells) and (value := clean_text(cells[index]))
            },
        )
    if mapping is None:
        yield _header_problem(name, _missing(set(_map_header(first_seen, aliases).values())), first_seen)


def _tolerant(reader: Iterator[list[str]]) -> Iterator[list[str] | csv.Error]:
    """The reader's rows, with a row csv cannot parse given as its error: one bad row must not lose the file."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # the reader has consumed the bad line, so the next call moves on
            yield error


def _csv_problem(error: csv.Error) -> str:
    if "field limit" in str(error):
        return (
            f"a cell is longer than {csv.field_size_limit():,} characters; the register export is "
            "damaged or a column holds a whole document"
        )
    return f"the row is not valid CSV ({error}); export the register again"


def _delimiter(text: str, aliases: Mapping[str, str]) -> str:
    """The separator under which a full header appears; csv.Sniffer guesses wrong on Vietnamese prose."""
    head = text.splitlines()[:_HEADER_SEARCH_ROWS]
    by_count = sorted((",", ";", "\t"), key=lambda sep: -max((line.count(sep) for line in head), default=0))
    for separator in by_count:
        for cells in _tolerant(csv.reader(head, delimiter=separator)):
            if not isinstance(cells, csv.Error) and not _missing(set(_map_header(cells, aliases).values())):
                return separator
    return by_count[0]


def _json_rows(name: str, lines: Iterable[str], aliases: Mapping[str, str]) -> Iterator[_Row | RejectedItem]:
    keys_seen: set[str] = set()
    any_row = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        label = f"{name} line {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as error:
            yield RejectedItem(label, f"the line is not valid JSON ({error.msg}); each line must be one object")
            continue
        if not isinstance(obj, dict):
            yield RejectedItem(label, "the line is not a JSON object; each line must be one {…} object")
            continue
        keys_seen.update(str(key) for key in obj)
        values = {
            canonical: value
            for key, raw in obj.items()
            if (canonical := aliases.get(header_key(str(key)))) and (value := _json_value(raw))
        }
        any_row = True
        yield _Row(label, values)
    if not any_row:
        yield RejectedItem(name, "the file holds no JSON Lines rows")
    elif missing := _missing({aliases[key] for key in map(header_key, keys_seen) if key in aliases}):
        yield _header_problem(name, missing, sorted(keys_seen))


def _json_value(raw: object) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "1" if raw else "0"
    if isinstance(raw, list):
        return ";".join(str(part) for part in raw)
    return clean_text(str(raw))


# -- one row ----------------------------------------------------------------------------------


def _record(row: _Row, limits: Limits) -> DocumentRecord:
    values = row.values
    for column, value in values.items():
        if len(value) > limits.max_field_chars:
            raise _RowRejected(
                f"the {column} value is {len(value):,} characters long, over the {limits.max_field_chars:,} limit"
            )
    unit = _required(values, "unit_code", "the unit code (mã đơn vị) is missing")
    unit = normalise_code(unit)
    direction = _choice(values, "direction", _DIRECTIONS, "out/in or đi/đến")
    number = _required(values, "number", "the number (số) is missing")
    promulgation = _date(values)
    channel = _choice(values, "channel", _CHANNELS, "electronic/paper/both or điện tử/giấy/cả hai")
    confidential = _confidential(values.get("confidential", ""))
    counterparts = _codes(values.get("counterpart", ""))
    notation = values.get("notation", "")
    document_id = values.get("document_id")
    if direction is Direction.OUT:
        sender, recipients = unit, counterparts
    else:
        sender, recipients = _incoming_sender(counterparts, document_id), (unit,)
    return DocumentRecord(
        document_id=document_id or document_key(sender, promulgation, number, notation),
        source=Source.REGISTER,
        sender=sender,
        recipients=recipients,
        reporting_unit=unit,
        direction=direction,
        number=number,
        notation=notation or None,
        promulgation_date=promulgation,
        type_name=values.get("type"),
        subject=values.get("subject"),
        channel=channel,
        confidential=confidential,
        paper_copy=channel is Channel.BOTH,
        item_name=row.label,
        payload_names=(values["file"],) if "file" in values else (),
    )


@functools.lru_cache(maxsize=_CACHED_VALUES)
def _codes(text: str) -> tuple[str, ...]:
    """The distinct agency codes of a counterpart cell, in order."""
    return tuple(dict.fromkeys(normalise_code(code) for code in _CODE_SPLIT.split(text) if code))


def _required(values: Mapping[str, str], column: str, problem: str) -> str:
    if column not in values:
        raise _RowRejected(problem)
    return values[column]


def _choice(values: Mapping[str, str], column: str, accepted: Mapping[str, _Choice], shown: str) -> _Choice:
    raw = values.get(column, "")
    choice = accepted.get(header_key(raw))
    if choice is None:
        raise _RowRejected(f"{column} '{raw}' is not recognised; expected {shown}")
    return choice


def _date(values: Mapping[str, str]) -> date:
    raw = _required(values, "date", "the date (ngày ban hành) is missing")
    parsed = parse_document_date(raw)
    if parsed is None:
        raise _RowRejected(f"date '{raw}' is not a real date; expected {DATE_FORMS}")
    return parsed


def _confidential(raw: str) -> bool:
    flag = _FLAGS.get(header_key(raw))
    if flag is None:
        raise _RowRejected(f"confidential '{raw}' is not recognised; expected 0 or 1")
    return flag


def _incoming_sender(counterparts: tuple[str, ...], document_id: str | None) -> str:
    if counterparts:
        return counterparts[0]
    # A DocumentId starts with its sender's code: OrganId,yyyy/MM/dd,Number/Notation.
    head = (document_id or "").split(",", 1)[0].strip()
    if CODE_PATTERN.match(head):
        return head
    raise _RowRejected(
        "the incoming document has no sender: fill in the sending unit's agency code "
        "(counterpart / nơi gửi) so it can be matched with the sender's copy"
    )
