"""The province's units: who they are, their level and parent, and storing a list of them.

Units also arrive from edXML ``From``/``To`` during ingestion; an imported list (read by
``docflow.readers.lists``) is the authority on names, levels and parents. A malformed agency code is
kept, with ``code_valid = 0``, because a unit the province writes wrongly is still a unit to report on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from docflow.agency import parse_agency_code
from docflow.i18n import N_
from docflow.readers.lists import UnitRow, read_unit_file
from docflow.records import RejectedItem
from docflow.reports.metrics import TWO_TIER_DAY
from docflow.store.classify import classify_level
from docflow.store.connection import schema_has
from docflow.store.ownership import normalise_name

__all__ = [
    "Unit",
    "UnitImport",
    "LEVEL_LABELS",
    "load_units",
    "has_life_spans",
    "load_successors",
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
    "đặc khu": "commune",
}


@dataclass(frozen=True)
class Unit:
    """A unit as the store knows it."""

    code: str
    name: str | None
    level: str
    parent: str | None
    code_valid: bool = True
    valid_from: str | None = None
    """yyyy-mm-dd, the first day in force; None: open."""
    valid_to: str | None = None
    """yyyy-mm-dd, the last day in force (inclusive); None: open."""
    on_list: bool = True
    """Imported from the province's list; False: a code only seen in documents (or no list imported)."""

    def in_force(self, day: str) -> bool:
        """In force on ``day`` (yyyy-mm-dd)."""
        return (self.valid_from or "") <= day and (self.valid_to is None or day <= self.valid_to)

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


def has_life_spans(conn: sqlite3.Connection) -> bool:
    """Whether the store has reached migration 13 (reading never migrates an older store)."""
    return schema_has(conn, "table", "units", "valid_from")


def load_units(conn: sqlite3.Connection, where: str = "", params: Sequence[object] = ()) -> dict[str, Unit]:
    """The units (``where``: an SQL condition over ``units`` to read only some)."""
    span = "valid_from, valid_to" if has_life_spans(conn) else "NULL, NULL"
    rows = conn.execute(
        f"SELECT code, name, level, parent, code_valid, {span}, source = 'import' FROM units"
        + (f" WHERE {where}" if where else ""),
        tuple(params),
    )
    return {
        code: Unit(code, name, level or "unknown", parent, bool(valid), start, end, bool(listed))
        for code, name, level, parent, valid, start, end, listed in rows
    }


def load_successors(conn: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    """Each ended unit's successors, first first (empty before migration 13)."""
    if not has_life_spans(conn):
        return {}
    found: dict[str, list[str]] = {}
    for code, successor in conn.execute("SELECT code, successor FROM unit_successors ORDER BY code, position"):
        found.setdefault(code, []).append(successor)
    return {code: tuple(successors) for code, successors in found.items()}


def _level_word(text: str | None) -> str | None:
    return _LEVEL_WORDS.get(text.strip().lower()) if text else None


def _resolve(row: UnitRow, levels: dict[str, str]) -> Unit:
    agency = parse_agency_code(row.code)
    parent = row.parent or agency.parent
    # A unit that starts with the two-tier structure has no district above it: its name says commune.
    two_tier = row.valid_from is not None and row.valid_from.isoformat() >= TWO_TIER_DAY
    level = _level_word(row.level) or classify_level(row.code, row.name, levels.get(parent or ""), two_tier)
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
    _store_units(conn, imported, {row.code: row for row in rows})
    return UnitImport(tuple(imported), tuple(rejected))


def _store_units(conn: sqlite3.Connection, imported: Sequence[Unit], rows: dict[str, UnitRow]) -> None:
    """Upsert the units; life spans and successors only where the file states them (``UnitRow.stated``)."""

    def day(value: object) -> str | None:
        return str(value) if value is not None else None

    values = [
        {"code": u.code, "name": u.name, "level": u.level, "parent": u.parent, "code_valid": int(u.code_valid),
         "valid_from": day(rows[u.code].valid_from), "valid_to": day(rows[u.code].valid_to),
         "from_stated": int("valid_from" in rows[u.code].stated), "to_stated": int("valid_to" in rows[u.code].stated),
         "level_stated": int(rows[u.code].level is not None)}
        for u in imported
    ]  # fmt: skip
    with conn:
        # A "before → after" row without a level leaves the level an earlier list gave as it is.
        conn.executemany(
            "INSERT INTO units (code, name, level, parent, code_valid, valid_from, valid_to, source)"
            " VALUES (:code, :name, :level, :parent, :code_valid, :valid_from, :valid_to, 'import')"
            " ON CONFLICT(code) DO UPDATE SET name = COALESCE(excluded.name, units.name),"
            " level = CASE WHEN :level_stated = 1 OR units.source <> 'import' THEN excluded.level ELSE units.level END,"
            " parent = excluded.parent,"
            " code_valid = excluded.code_valid, source = 'import',"
            " valid_from = CASE WHEN :from_stated = 1 THEN excluded.valid_from ELSE units.valid_from END,"
            " valid_to = CASE WHEN :to_stated = 1 THEN excluded.valid_to ELSE units.valid_to END",
            values,
        )
        stating = [row for row in rows.values() if "successors" in row.stated]
        conn.executemany("DELETE FROM unit_successors WHERE code = ?", [(row.code,) for row in stating])
        conn.executemany(
            "INSERT INTO unit_successors (code, successor, position) VALUES (?, ?, ?)",
            [(row.code, successor, i) for row in stating for i, successor in enumerate(row.successors)],
        )


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
