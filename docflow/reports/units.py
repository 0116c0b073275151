"""The province's units: who they are, their level and parent, and storing a list of them.

Units also arrive from edXML ``From``/``To`` during ingestion; an imported list (read by
``docflow.readers.lists``) is the authority on names, levels and parents. A malformed agency code is
kept, with ``code_valid = 0``, because a unit the province writes wrongly is still a unit to report on.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from docflow.agency import parse_agency_code
from docflow.i18n import N_
from docflow.readers.lists import UnitRow, read_unit_file
from docflow.records import RejectedItem
from docflow.store.classify import classify_level
from docflow.store.ownership import normalise_name

__all__ = [
    "Unit",
    "UnitImport",
    "LEVEL_LABELS",
    "load_units",
    "import_units",
    "find_units",
]

LEVEL_LABELS: dict[str, str] = {
    "province": N_("Province level"),
    "department": N_("Departments and agencies"),
    "district": N_("District level"),
    "commune": N_("Commune level"),
    "other": N_("Other"),
    "unknown": N_("Level unknown"),
}
"""A level's name for people: an English message, translated where it is shown (``docflow.i18n``)."""

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
        code: Unit(code, name, level or "unknown", parent, bool(valid)) for code, name, level, parent, valid in rows
    }


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


def find_units(conn: sqlite3.Connection, text: str) -> tuple[Unit, ...]:
    """The units ``text`` names: the unit with that code; else those whose name holds its words, in order and
    whole, with or without diacritics ("so y te" finds "Sở Y tế"); a name equal to ``text`` wins over ones
    merely holding it. Sorted by code; empty when nothing fits."""
    known = load_units(conn)
    code = text.strip()
    if code in known:
        return (known[code],)
    wanted = normalise_name(text)
    if not wanted:
        return ()
    named = [(normalise_name(unit.name), unit) for unit in known.values() if unit.name]
    exact = [unit for name, unit in named if name == wanted]
    holding = exact or [unit for name, unit in named if f" {wanted} " in f" {name} "]
    return tuple(sorted(holding, key=lambda unit: unit.code))
