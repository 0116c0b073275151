"""The lists a province office hands over — its units, the certificates issued to them — read into rows.

A list is a CSV (comma, semicolon or tab) or a JSON file, decoded as every other reader decodes
(``docflow.readers.text``), with its columns found by any of a few names in English or Vietnamese.
Reading never touches the store: ``docflow.reports.units`` and ``docflow.reports.certs`` store the rows.
A row that cannot be used, or a file that cannot be read, becomes a ``RejectedItem`` with its reason.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from docflow.readers.text import DATE_FORMS, ENCODINGS_READ, decode_export, header_key, parse_document_date
from docflow.records import RejectedItem

__all__ = ["UnitRow", "IssuedRow", "KIND_WORDS", "read_records", "pick", "read_unit_file", "read_issued_file"]

_UNIT_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "agency_code", "ma_dinh_danh", "mã định danh", "mã đơn vị", "mã"),
    "name": ("name", "ten", "tên", "tên đơn vị", "ten_don_vi"),
    "parent": ("parent", "don_vi_cha", "đơn vị cha", "cha"),
    "level": ("level", "cap", "cấp"),
    "valid_from": ("valid_from", "hieu_luc_tu", "hiệu lực từ", "từ ngày"),
    "valid_to": ("valid_to", "hieu_luc_den", "hiệu lực đến", "đến ngày"),
    "successors": ("successors", "successor", "don_vi_ke_thua", "đơn vị kế thừa", "kế thừa"),
}

_CHANGE_COLUMNS: dict[str, tuple[str, ...]] = {
    "old_code": ("old_code", "ma_cu", "mã cũ", "mã đơn vị cũ"),
    "old_name": ("old_name", "ten_cu", "tên cũ", "tên đơn vị cũ"),
    "new_code": ("new_code", "ma_moi", "mã mới", "mã đơn vị mới"),
    "new_name": ("new_name", "ten_moi", "tên mới", "tên đơn vị mới"),
    "new_level": ("new_level", "cap_moi", "cấp mới"),
    "new_parent": ("new_parent", "don_vi_cha_moi", "đơn vị cha mới"),
    "effective": ("effective_date", "effective", "ngay_hieu_luc", "ngày hiệu lực"),
}
"""The official "before → after" list: one row per old unit and the new unit it went into (docs/commands.md)."""

_ISSUED_COLUMNS: dict[str, tuple[str, ...]] = {
    "serial": ("serial", "serial_number", "serial no", "số hiệu", "số serial", "số sê ri", "số hiệu chứng thư"),
    "unit": ("unit", "code", "agency_code", "unit code", "mã định danh", "mã đơn vị", "đơn vị"),
    "holder": (
        "holder",
        "name",
        "holder name",
        "subscriber",
        "owner",
        "người được cấp",
        "người sử dụng",
        "chủ thể",
        "người được cấp / chủ thể",
        "tên",
    ),  # fmt: skip
    "kind": ("kind", "type", "certificate type", "cert type", "loại", "loại chứng thư"),
    "not_after": (
        "not_after",
        "expires",
        "valid_to",
        "valid until",
        "expiry",
        "expiry date",
        "expiration date",
        "expiration",
        "hết hạn",
        "ngày hết hạn",
        "có hiệu lực đến",
    ),  # fmt: skip
    "sha256": ("sha256", "sha-256", "fingerprint", "thumbprint", "dấu vân tay"),
    "issuer": (
        "issuer",
        "issued by",
        "ca",
        "certificate authority",
        "tổ chức cấp",
        "đơn vị cấp",
        "nhà cung cấp",
        "tổ chức cung cấp dịch vụ",
    ),  # fmt: skip
}
"""Field → the headers it is found under, in English or Vietnamese, compared as ``header_key`` makes them
(case, diacritics, spaces and punctuation aside): the same rule as the unit list and the register."""


@dataclass(frozen=True)
class UnitRow:
    """One row of a unit list, before level and parent are worked out."""

    code: str
    name: str | None = None
    parent: str | None = None
    level: str | None = None
    valid_from: date | None = None
    """The first day in force; None: open."""
    valid_to: date | None = None
    """The last day in force (inclusive); None: open."""
    successors: tuple[str, ...] = ()
    """The units it went into, first first (a split's history goes to the first)."""
    stated: frozenset[str] = frozenset(("valid_from", "valid_to", "successors"))
    """Which of the three the file states: an import changes only those (a "before → after" row states the old
    unit's end and successors and the new unit's start, and leaves the rest as stored)."""


@dataclass(frozen=True)
class IssuedRow:
    """One row of the list of certificates issued to units, as written (the serial is normalised on storing)."""

    serial: str
    unit: str
    holder: str | None = None
    kind: str | None = None
    not_after: str | None = None
    sha256: str | None = None
    """Lower-case hex without colons, as the store keeps fingerprints."""
    issuer: str | None = None
    """The CA that issued it, as written (a name or a distinguished name): serials are unique per issuer only."""


def _clean(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def pick(record: dict[str, object], aliases: tuple[str, ...]) -> str | None:
    """The first non-empty value among the column names ``aliases``, matched as register headers are."""
    by_key = {header_key(str(key)): value for key, value in record.items()}
    for alias in aliases:
        value = _clean(by_key.get(header_key(alias)))
        if value is not None:
            return value
    return None


def read_records(path: Path, list_key: str) -> list[dict[str, object]]:
    """The rows of a CSV (comma, semicolon or tab), XLSX or JSON list a province office hands over.

    JSON may be a list of objects or ``{list_key: [...]}``. Raises OSError, ValueError or
    csv.Error with a readable message.
    """
    if path.suffix.lower() == ".xlsx":
        return _workbook_records(path)
    text = decode_export(path.read_bytes())
    if text is None:
        raise ValueError(f"it is not {ENCODINGS_READ} text; save it again as a UTF-8 CSV")
    if path.suffix.lower() == ".json":
        loaded = json.loads(text)
        if isinstance(loaded, dict):
            loaded = loaded.get(list_key, [])
        if not isinstance(loaded, list):
            raise ValueError(f'a JSON list must be a list of objects (or {{"{list_key}": [...]}})')
        return [item for item in loaded if isinstance(item, dict)]
    if not text.strip():
        return []
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # a single column: nothing to sniff
    return list(csv.DictReader(io.StringIO(text), dialect=dialect))


def _workbook_records(path: Path) -> list[dict[str, object]]:
    """The first sheet of an .xlsx list, its first row the headers (dates arrive as dates, read as ISO text)."""
    from openpyxl import load_workbook  # here: only an .xlsx list needs it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError) as error:
        raise ValueError("it is not a readable .xlsx workbook; save it again from Excel, or as a UTF-8 CSV") from error
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True) if workbook.worksheets else iter(())
        headers = [str(cell).strip() if cell is not None else "" for cell in next(rows, ())]
        return [
            {header: cell for header, cell in zip(headers, row) if header}
            for row in rows
            if any(cell is not None for cell in row)
        ]
    finally:
        workbook.close()


def _records(path: Path, list_key: str, what: str) -> tuple[list[dict[str, object]], list[RejectedItem]]:
    try:
        return read_records(path, list_key), []
    except (OSError, ValueError, csv.Error) as error:
        return [], [RejectedItem(path.name, f"cannot read the {what}: {error}")]


def read_unit_file(path: Path) -> tuple[list[UnitRow], list[RejectedItem]]:
    """Rows of a CSV or JSON unit list, or of a "before → after" list (``old_code``/``mã cũ`` columns); rows
    without a code, or with a date that cannot be read, become rejected items."""
    records, rejected = _records(path, "units", "unit list")
    if records and pick_header(records[0], _CHANGE_COLUMNS["old_code"]):
        return _changes(path, records, rejected)
    headers = {header_key(str(key)) for key in records[0]} if records else set()
    stated = frozenset(
        field
        for field in ("valid_from", "valid_to", "successors")
        if headers & {header_key(alias) for alias in _UNIT_COLUMNS[field]}
    )
    rows: list[UnitRow] = []
    for number, record in enumerate(records, start=1):
        code = pick(record, _UNIT_COLUMNS["code"])
        if code is None:
            rejected.append(RejectedItem(f"{path.name}:{number}", "row has no agency code"))
            continue
        name, parent, level = (pick(record, _UNIT_COLUMNS[field]) for field in ("name", "parent", "level"))
        span = [_day(pick(record, _UNIT_COLUMNS[field])) for field in ("valid_from", "valid_to")]
        if any(isinstance(day, str) for day in span):
            bad = next(day for day in span if isinstance(day, str))
            rejected.append(RejectedItem(_row_label(path, number), _bad_day(bad)))
            continue
        successors = _codes(pick(record, _UNIT_COLUMNS["successors"]))
        start, end = (day if isinstance(day, date) else None for day in span)
        rows.append(UnitRow(code, name, parent, level, start, end, successors, stated))
    return rows, rejected


def pick_header(record: dict[str, object], aliases: tuple[str, ...]) -> bool:
    """Whether the list has a column under one of ``aliases`` (empty or not)."""
    keys = {header_key(str(key)) for key in record}
    return any(header_key(alias) in keys for alias in aliases)


def _day(text: str | None) -> date | str | None:
    """The date written, None when empty, or the text itself when it is not a date."""
    if text is None:
        return None
    return parse_document_date(text) or text


def _bad_day(text: str) -> str:
    return f"the date '{text}' is not a date; write {DATE_FORMS} and import again"


def _codes(text: str | None) -> tuple[str, ...]:
    """``A; B`` or ``A, B``: the codes in order, each once."""
    parts = (part.strip() for part in (text or "").replace(",", ";").split(";"))
    return tuple(dict.fromkeys(part for part in parts if part))


def _changes(
    path: Path, records: list[dict[str, object]], rejected: list[RejectedItem]
) -> tuple[list[UnitRow], list[RejectedItem]]:
    """A "before → after" list as unit rows: each old unit ends the day before the change and names the new
    units it went into, in row order (a split: several rows for one old unit); each new unit starts that day.
    An old unit without a new code is dissolved."""
    old: dict[str, UnitRow] = {}
    new: dict[str, UnitRow] = {}
    for number, record in enumerate(records, start=1):
        values = {field: pick(record, aliases) for field, aliases in _CHANGE_COLUMNS.items()}
        code, effective = values["old_code"], _day(values["effective"])
        if code is None or not isinstance(effective, date):
            reason = "the row needs an old code (mã cũ) and an effective date (ngày hiệu lực)"
            why = _bad_day(effective) if isinstance(effective, str) else reason
            rejected.append(RejectedItem(_row_label(path, number), why))
            continue
        successor = values["new_code"]
        before = old.get(code) or UnitRow(code, values["old_name"], valid_to=effective - timedelta(days=1),
                                          stated=frozenset(("valid_to", "successors")))  # fmt: skip
        old[code] = replace(before, successors=tuple(dict.fromkeys((*before.successors, *_codes(successor)))))
        if successor is not None and successor not in new:
            new[successor] = UnitRow(successor, values["new_name"], values["new_parent"], values["new_level"],
                                     valid_from=effective, stated=frozenset(("valid_from",)))  # fmt: skip
    return [*old.values(), *(row for code, row in new.items() if code not in old)], rejected


KIND_WORDS: dict[str, str] = {
    **dict.fromkeys(
        ("to_chuc", "co_quan", "co_quan_to_chuc", "to_chuc_co_quan", "organisation", "organization", "org"),
        "organisation",
    ),
    **dict.fromkeys(("ca_nhan", "person", "personal", "individual"), "person"),
}
"""A kind as clerks write it (``header_key`` form: case and diacritics aside) → the kind code verdicts use."""

_KIND_FORMS = "Tổ chức / organisation or Cá nhân / personal"


def _row_label(path: Path, number: int) -> str:
    """Where a refused row is: the spreadsheet row (the header is row 1) of a CSV, the n-th object of a JSON list."""
    return f"{path.name} item {number}" if path.suffix.lower() == ".json" else f"{path.name} row {number + 1}"


def _issued_row(values: dict[str, str | None]) -> IssuedRow | str:
    """The row with its kind and expiry in stored form, or why it cannot be used and what to do."""
    serial, unit = values.pop("serial"), values.pop("unit")
    if not serial or not unit:
        return "the row needs both a serial (số hiệu) and a unit code (mã đơn vị); fill them in and import again"
    values["sha256"] = (values["sha256"] or "").replace(":", "").lower() or None
    kind = values["kind"]
    if kind is not None:
        values["kind"] = KIND_WORDS.get(header_key(kind))
        if values["kind"] is None:
            return f"the kind (loại) '{kind}' is not known; write {_KIND_FORMS} (or leave it empty) and import again"
    expires = values["not_after"]
    if expires is not None:
        # Stored as yyyy-mm-dd, which the review compares: 31/12/2025 kept as written would never expire.
        day = parse_document_date(expires)
        if day is None:
            return f"the expiry (ngày hết hạn) '{expires}' is not a date; write {DATE_FORMS} and import again"
        values["not_after"] = day.isoformat()
    return IssuedRow(serial, unit, **values)


def read_issued_file(path: Path) -> tuple[list[IssuedRow], list[RejectedItem]]:
    """Rows of a CSV or JSON list of issued certificates; a row needs a serial and a unit code, and a kind and an
    expiry, when given, that can be read (``KIND_WORDS``, ``parse_document_date``: the register reader's dates)."""
    records, rejected = _records(path, "certificates", "certificate list")
    rows: list[IssuedRow] = []
    for number, record in enumerate(records, start=1):
        row = _issued_row({field: pick(record, aliases) for field, aliases in _ISSUED_COLUMNS.items()})
        if isinstance(row, str):
            rejected.append(RejectedItem(_row_label(path, number), row))
        else:
            rows.append(row)
    return rows, rejected
