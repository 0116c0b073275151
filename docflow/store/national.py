"""The national store: provinces' per-unit counters per period, rolled up by ``docflow rollup``.

One schema for SQLite and PostgreSQL (plain types, ``INSERT … ON CONFLICT``). Two rules keep the sums right
however many roll-ups run, in whatever order, at the same time:

- **One export per province and period** (``national_exports``' key): rolling up a province's period again
  replaces its rows in one transaction; the same file again changes nothing.
- **One row per unit and period** (``national_units``' key): a unit is taken only from its own province's export
  (``docs/scale.md``), and a second export claiming it for the same period is refused, naming the export that
  holds it, rather than counted twice. On PostgreSQL the key is what serialises two roll-ups racing for the same
  unit: the second waits for the first's commit, then finds the row and is refused.
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from docflow.i18n import _
from docflow.store.database import Database, KeyTaken
from docflow.store.errors import StoreError
from docflow.store.schema import COUNTER_COLUMNS, Counters

__all__ = [
    "NATIONAL_SCHEMA",
    "NATIONAL_SCHEMA_VERSION",
    "ExportUnit",
    "ProvinceExport",
    "RollupOutcome",
    "RollupResult",
    "UnitsTaken",
    "is_national",
    "prepare_national",
    "roll_up",
    "national_counters",
    "national_unit_counters",
    "rolled_up_periods",
    "exports_of",
    "ExportRow",
]

_COUNTER_DDL = ",\n    ".join(f"{name} INTEGER NOT NULL DEFAULT 0" for name in COUNTER_COLUMNS)

NATIONAL_SCHEMA_VERSION = 2
NATIONAL_SCHEMA: tuple[str, ...] = (
    "CREATE TABLE national_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE national_exports (
    province TEXT NOT NULL,
    period TEXT NOT NULL,
    province_name TEXT NOT NULL,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    units INTEGER NOT NULL,
    left_out_other_province INTEGER NOT NULL,
    left_out_malformed INTEGER NOT NULL,
    rolled_up_at TEXT NOT NULL,
    PRIMARY KEY (province, period)
)""",
    f"""CREATE TABLE national_units (
    period TEXT NOT NULL,
    unit TEXT NOT NULL,
    province TEXT NOT NULL,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    {_COUNTER_DDL},
    PRIMARY KEY (period, unit),
    FOREIGN KEY (province, period) REFERENCES national_exports (province, period) ON DELETE CASCADE
)""",
    "CREATE INDEX national_units_by_export ON national_units (province, period)",
)
"""Every statement of version 1, the same text on both engines (``docs/schema.md``, "The national store")."""
NATIONAL_DOCUMENTS_DDL = (
    """CREATE TABLE national_documents (
    document_id TEXT PRIMARY KEY,
    province TEXT NOT NULL,
    sender TEXT,
    period TEXT NOT NULL,
    promulgation_date TEXT,
    confidential INTEGER NOT NULL,
    channel TEXT NOT NULL,
    sent_over_axis INTEGER NOT NULL,
    business_status TEXT NOT NULL,
    signature_count INTEGER NOT NULL,
    has_valid_signature INTEGER NOT NULL,
    has_valid_personal INTEGER NOT NULL,
    has_valid_organisation INTEGER NOT NULL,
    invalid_reasons TEXT NOT NULL
)""",
    "CREATE INDEX national_documents_by_province ON national_documents (province, period)",
)
"""Version 2: a province's own documents, when rolled in (``docflow.store.national_documents``)."""
NATIONAL_UPGRADES: dict[int, tuple[str, ...]] = {2: NATIONAL_DOCUMENTS_DDL}
"""Version → its statements, applied by a writer to a store of an earlier version (2: the documents, optional)."""


@dataclass(frozen=True)
class ExportUnit:
    code: str
    name: str
    level: str
    counters: Counters


@dataclass(frozen=True)
class ProvinceExport:
    """What one roll-up writes: the units a province's export owns for one period, and what was left out."""

    province: str
    """The level-1 codes the export owns, comma-separated and sorted (``H55`` or ``H04,H55``)."""
    period: str
    file_name: str
    sha256: str
    units: tuple[ExportUnit, ...]
    left_out_other_province: int = 0
    """Units of the export whose code names another province: taken from that province's own export."""
    left_out_malformed: int = 0
    """Units whose code is malformed, so that no province can be said to own them."""
    province_name: str = ""
    """The export's province-level unit's name (``UBND tỉnh Thái Nguyên``), for people; empty when it has none."""


class RollupOutcome(str, enum.Enum):
    ADDED = "added"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class RollupResult:
    outcome: RollupOutcome
    export: ProvinceExport
    previous_units: int = 0
    """REPLACED: how many units the replaced export had."""


class UnitsTaken(StoreError):
    """Units of the export are already held, for the same period, from another province's export."""

    def __init__(self, message: str, units: tuple[tuple[str, str], ...]) -> None:
        super().__init__(message)
        self.units = units
        """(unit code, the province export holding it)."""


@dataclass(frozen=True)
class ExportRow:
    province: str
    period: str
    province_name: str
    file_name: str
    sha256: str
    units: int
    left_out_other_province: int
    left_out_malformed: int
    rolled_up_at: str


def is_national(db: Database) -> bool:
    return db.has_table("national_meta")


def prepare_national(db: Database, *, create: bool) -> None:
    """Check that ``db`` is a national store (making one in an empty database when ``create``); StoreError if not."""
    if is_national(db):
        row = db.execute("SELECT value FROM national_meta WHERE name = 'schema_version'").fetchone()
        if row is None or int(row[0]) > NATIONAL_SCHEMA_VERSION:
            raise StoreError(
                _("the national store {store} is newer than this docflow: upgrade docflow").format(
                    store=db.location.shown
                )
            )
        if create and int(row[0]) < NATIONAL_SCHEMA_VERSION:
            with db.transaction():
                db.serialise("docflow national schema")
                _upgrade(db)
        return
    if not create or db.has_table("batches") or db.has_table("unit_counters"):
        raise StoreError(
            _("{store} is not a national store: give 'docflow rollup' a new or empty database").format(
                store=db.location.shown
            )
        )
    with db.transaction():
        # Two roll-ups starting on the same empty database: the second waits, then finds the tables made.
        db.serialise("docflow national schema")
        if is_national(db):
            return
        for statement in NATIONAL_SCHEMA:
            db.execute(statement)
        db.executemany(
            "INSERT INTO national_meta (name, value) VALUES (?, ?)", (("kind", "national"), ("schema_version", "1"))
        )
        _upgrade(db)


def _upgrade(db: Database) -> None:
    """Inside a serialised transaction: the upgrades the store lacks (read again: another writer may have made them)."""
    (version,) = db.execute("SELECT value FROM national_meta WHERE name = 'schema_version'").fetchone()
    for number in range(int(version) + 1, NATIONAL_SCHEMA_VERSION + 1):
        for statement in NATIONAL_UPGRADES[number]:
            db.execute(statement)
    db.execute("UPDATE national_meta SET value = ? WHERE name = 'schema_version'", (str(NATIONAL_SCHEMA_VERSION),))


def _taken_elsewhere(db: Database, export: ProvinceExport) -> tuple[tuple[str, str], ...]:
    codes = [unit.code for unit in export.units]
    found: list[tuple[str, str]] = []
    for start in range(0, len(codes), 500):  # bounded IN lists on both engines
        part = codes[start : start + 500]
        rows = db.execute(
            f"SELECT unit, province FROM national_units WHERE period = ? AND province <> ?"
            f" AND unit IN ({', '.join('?' * len(part))})",
            (export.period, export.province, *part),
        ).fetchall()
        found.extend((str(unit), str(province)) for unit, province in rows)
    return tuple(sorted(found))


def _refusal(export: ProvinceExport, taken: Sequence[tuple[str, str]]) -> UnitsTaken:
    shown = ", ".join(f"{unit} ({province})" for unit, province in taken[:5])
    more = len(taken) - 5
    return UnitsTaken(
        _(
            "{count} units of this export for {period} are already rolled up from another province's "
            "export: {units}{more}. Each unit is taken from one province only: give --province the codes this "
            "export owns"
        ).format(count=len(taken), period=export.period, units=shown, more=f" … (+{more})" if more > 0 else ""),
        tuple(taken),
    )


_UNIT_COLUMNS = ("period", "unit", "province", "name", "level", *COUNTER_COLUMNS)
_counter_values = operator.attrgetter(*COUNTER_COLUMNS)
"""A ``Counters``' values in column order, in one call (a getattr per column cost a third of a roll-up)."""


def roll_up(db: Database, export: ProvinceExport) -> RollupResult:
    """Write ``export`` in one transaction: added, replacing the province's earlier export of the period, or
    unchanged (the same file). UnitsTaken, with nothing written, when another province's export holds a unit."""
    try:
        with db.transaction():
            # A second roll-up of the same province and period waits here until this one commits.
            db.serialise(f"docflow rollup {export.province} {export.period}")
            previous = db.execute(
                "SELECT sha256, units FROM national_exports WHERE province = ? AND period = ?",
                (export.province, export.period),
            ).fetchone()
            if previous is not None and previous[0] == export.sha256:
                return RollupResult(RollupOutcome.UNCHANGED, export, int(previous[1]))
            _replace(db, export)
    except KeyTaken:
        # Held by another province's export, committed before ours or waited for: its rows stand, none of ours.
        raise _refusal(export, _taken_elsewhere(db, export)) from None
    outcome = RollupOutcome.ADDED if previous is None else RollupOutcome.REPLACED
    return RollupResult(outcome, export, int(previous[1]) if previous is not None else 0)


def _replace(db: Database, export: ProvinceExport) -> None:
    db.execute("DELETE FROM national_units WHERE province = ? AND period = ?", (export.province, export.period))
    db.execute(
        "INSERT INTO national_exports (province, period, province_name, file_name, sha256, units,"
        " left_out_other_province, left_out_malformed, rolled_up_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (province, period) DO UPDATE SET province_name = excluded.province_name,"
        " file_name = excluded.file_name, sha256 = excluded.sha256, units = excluded.units,"
        " left_out_other_province = excluded.left_out_other_province,"
        " left_out_malformed = excluded.left_out_malformed, rolled_up_at = excluded.rolled_up_at",
        (export.province, export.period, export.province_name, export.file_name, export.sha256, len(export.units),
         export.left_out_other_province, export.left_out_malformed, datetime.now(UTC).isoformat(timespec="seconds")),
    )  # fmt: skip
    rows = (
        (export.period, unit.code, export.province, unit.name, unit.level, *_counter_values(unit.counters))
        # One key order for every writer: two exports sharing units take their locks alike and cannot deadlock.
        for unit in sorted(export.units, key=lambda unit: unit.code)
    )  # fmt: skip
    db.insert_rows("national_units", _UNIT_COLUMNS, rows)


def _chosen_exports(period: str, months: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """SQL choosing, per province, its export of ``period`` itself, else its exports of the period's months."""
    marks = ", ".join("?" * len(months)) or "NULL"
    sql = (
        "SELECT province, period FROM national_exports WHERE period = ?"
        " UNION ALL SELECT e.province, e.period FROM national_exports e"
        f" WHERE e.period IN ({marks}) AND e.period <> ? AND NOT EXISTS"
        " (SELECT 1 FROM national_exports x WHERE x.province = e.province AND x.period = ?)"
    )
    return sql, (period, *months, period, period)


_SUMS = ", ".join(f"SUM(u.{name})" for name in COUNTER_COLUMNS)


def _summed(
    db: Database, period: str, months: Sequence[str], keys: str, rest: str, params: Sequence[object] = ()
) -> list[Any]:
    """Rows of ``keys`` and then every counter summed, over the units of the exports chosen for the period."""
    chosen, chosen_params = _chosen_exports(period, months)
    return db.execute(
        f"WITH chosen AS ({chosen}) SELECT {keys}, {_SUMS} FROM national_units u"
        f" JOIN chosen c ON c.province = u.province AND c.period = u.period {rest}",
        (*chosen_params, *params),
    ).fetchall()


def _counters_of(values: Sequence[Any]) -> Counters:
    return Counters(*(int(value or 0) for value in values))


def national_counters(
    db: Database, period: str, months: Sequence[str] = ()
) -> dict[tuple[str, str], tuple[int, Counters]]:
    """(province, level) → (units, their counters summed) for ``period``: each province's export of the period,
    or, where it has none, the sum of its exports of ``months`` (a province rolling up every month)."""
    rows = _summed(db, period, months, "u.province, u.level, count(DISTINCT u.unit)", "GROUP BY u.province, u.level")
    return {(str(row[0]), str(row[1])): (int(row[2]), _counters_of(row[3:])) for row in rows}


def national_unit_counters(
    db: Database, period: str, months: Sequence[str], province: str
) -> tuple[tuple[str, str, str, Counters], ...]:
    """(unit, name, level, counters) of every unit whose code names ``province`` (``H04``), read from the same
    exports as ``national_counters``, summed over months where a province rolled up months."""
    rest = "WHERE u.unit LIKE ? GROUP BY u.unit ORDER BY u.unit"
    rows = _summed(db, period, months, "u.unit, MAX(u.name), MAX(u.level)", rest, (f"%.{province}",))
    return tuple((str(row[0]), str(row[1]), str(row[2]), _counters_of(row[3:])) for row in rows)


def rolled_up_periods(db: Database) -> tuple[str, ...]:
    return tuple(str(row[0]) for row in db.execute("SELECT DISTINCT period FROM national_exports ORDER BY period"))


def exports_of(db: Database, period: str, months: Sequence[str] = ()) -> tuple[ExportRow, ...]:
    """The exports ``national_counters`` reads for ``period`` (the same choice), by province then period."""
    chosen, params = _chosen_exports(period, months)
    rows = db.execute(
        f"WITH chosen AS ({chosen}) SELECT e.province, e.period, e.province_name, e.file_name, e.sha256, e.units,"
        " e.left_out_other_province, e.left_out_malformed, e.rolled_up_at FROM national_exports e"
        " JOIN chosen c ON c.province = e.province AND c.period = e.period ORDER BY e.province, e.period",
        params,
    ).fetchall()
    return tuple(
        ExportRow(str(a), str(b), str(c), str(d), str(e), int(f), int(g), int(h), str(i))
        for a, b, c, d, e, f, g, h, i in rows
    )
