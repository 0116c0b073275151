"""The province's units: who they are, their level and parent, and importing a list of them.

Units also arrive from edXML ``From``/``To`` during ingestion; an imported list is the
authority on names, levels and parents. A malformed agency code is kept, with
``code_valid = 0``, because a unit the province writes wrongly is still a unit to report on.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from docflow.agency import parse_agency_code
from docflow.records import RejectedItem
from docflow.store.classify import classify_level

__all__ = [
    "Unit",
    "UnitRow",
    "UnitImport",
    "LEVEL_LABELS",
    "load_units",
    "pick",
    "read_records",
    "read_unit_file",
    "import_units",
]

LEVEL_LABELS: dict[str, str] = {
    "province": "Cấp tỉnh",
    "department": "Sở, ban, ngành",
    "district": "Cấp huyện",
    "commune": "Cấp xã",
    "other": "Khác",
    "unknown": "Chưa rõ cấp",
}

# Words a province's own list may use for a level, mapped to docflow's level names.
_LEVEL_WORDS: dict[str, str] = {
    **{level: level for level in LEVEL_LABELS},
    "tỉnh": "province",
    "cấp tỉnh": "province",
    "sở": "department",
    "ngành": "department",
    "sở, ban, ngành": "department",
    "huyện": "district",
    "cấp huyện": "district",
    "xã": "commune",
    "cấp xã": "commune",
    "khác": "other",
}

_COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("code", "agency_code", "ma_dinh_danh", "mã định danh", "mã"),
    "name": ("name", "ten", "tên", "tên đơn vị", "ten_don_vi"),
    "parent": ("parent", "don_vi_cha", "đơn vị cha", "cha"),
    "level": ("level", "cap", "cấp"),
}


@dataclass(frozen=True)
class Unit:
    """A unit as the store knows it."""

    code: str
    name: str | None
    level: str
    parent: str | None
    code_valid: bool = True

    @property
    def display_name(self) -> str:
        return self.name or self.code


@dataclass(frozen=True)
class UnitRow:
    """One row of an import file, before level and parent are worked out."""

    code: str
    name: str | None = None
    parent: str | None = None
    level: str | None = None


@dataclass(frozen=True)
class UnitImport:
    """What ``docflow units import`` did."""

    imported: tuple[Unit, ...]
    rejected: tuple[RejectedItem, ...]

    @property
    def invalid_codes(self) -> tuple[str, ...]:
        return tuple(unit.code for unit in self.imported if not unit.code_valid)


def load_units(conn: sqlite3.Connection) -> dict[str, Unit]:
    rows = conn.execute("SELECT code, name, level, parent, code_valid FROM units")
    return {
        code: Unit(code, name, level or "unknown", parent, bool(valid))
        for code, name, level, parent, valid in rows
    }


def _clean(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def pick(record: dict[str, object], aliases: tuple[str, ...]) -> str | None:
    """The first non-empty value among the column names ``aliases`` (case-insensitive)."""
    lowered = {str(key).strip().lower(): value for key, value in record.items()}
    for alias in aliases:
        value = _clean(lowered.get(alias))
        if value is not None:
            return value
    return None


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older Windows tools in Vietnamese offices still export cp1258.
        text = data.decode("cp1258", errors="replace")
    # cp1258 (and some Mac tools) write tone marks as combining characters: compose them,
    # or "Bắc Kạn" from one file never equals "Bắc Kạn" from another.
    return unicodedata.normalize("NFC", text)


def read_records(path: Path, list_key: str) -> list[dict[str, object]]:
    """The rows of a CSV (comma, semicolon or tab) or JSON list a province office hands over.

    JSON may be a list of objects or ``{list_key: [...]}``. Raises OSError, ValueError or
    csv.Error with a readable message.
    """
    text = _decode(path.read_bytes())
    if path.suffix.lower() == ".json":
        loaded = json.loads(text)
        if isinstance(loaded, dict):
            loaded = loaded.get(list_key, [])
        if not isinstance(loaded, list):
            raise ValueError(f"a JSON list must be a list of objects (or {{\"{list_key}\": [...]}})")
        return [item for item in loaded if isinstance(item, dict)]
    if not text.strip():
        return []
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # a single column: nothing to sniff
    return list(csv.DictReader(io.StringIO(text), dialect=dialect))


def read_unit_file(path: Path) -> tuple[list[UnitRow], list[RejectedItem]]:
    """Rows of a CSV or JSON unit list; rows without a code become rejected items."""
    try:
        records = read_records(path, "units")
    except (OSError, ValueError, csv.Error) as error:
        return [], [RejectedItem(path.name, f"cannot read the unit list: {error}")]
    rows: list[UnitRow] = []
    rejected: list[RejectedItem] = []
    for number, record in enumerate(records, start=1):
        code = pick(record, _COLUMN_ALIASES["code"])
        if code is None:
            rejected.append(RejectedItem(f"{path.name}:{number}", "row has no agency code"))
            continue
        name, parent, level = (pick(record, _COLUMN_ALIASES[field]) for field in ("name", "parent", "level"))
        rows.append(UnitRow(code, name, parent, level))
    return rows, rejected


def _level_word(text: str | None) -> str | None:
    return _LEVEL_WORDS.get(text.strip().lower()) if text else None


def _resolve(row: UnitRow, levels: dict[str, str]) -> Unit:
    agency = parse_agency_code(row.code)
    parent = row.parent or agency.parent
    level = _level_word(row.level) or classify_level(row.code, row.name, levels.get(parent or ""))
    return Unit(row.code, row.name, level, parent, agency.valid)


def import_units(conn: sqlite3.Connection, path: Path) -> UnitImport:
    """Upsert a unit list; the file's names, levels and parents override what ingestion guessed."""
    rows, rejected = read_unit_file(path)
    levels = {unit.code: unit.level for unit in load_units(conn).values()}
    imported: list[Unit] = []
    # Parents first, so a commune can inherit being under a district.
    for row in sorted(rows, key=lambda r: parse_agency_code(r.code).depth):
        unit = _resolve(row, levels)
        levels[unit.code] = unit.level
        imported.append(unit)
    with conn:
        conn.executemany(
            "INSERT INTO units (code, name, level, parent, code_valid, source)"
            " VALUES (?, ?, ?, ?, ?, 'import')"
            " ON CONFLICT(code) DO UPDATE SET name = COALESCE(excluded.name, units.name),"
            " level = excluded.level, parent = excluded.parent,"
            " code_valid = excluded.code_valid, source = 'import'",
            [(u.code, u.name, u.level, u.parent, int(u.code_valid)) for u in imported],
        )
    return UnitImport(tuple(imported), tuple(rejected))
