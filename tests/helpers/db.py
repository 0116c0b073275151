"""Hand-built stores straight from ``docflow.store.schema``: the expected numbers are exactly what a test wrote."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from docflow.store.schema import COUNTER_COLUMNS, MIGRATIONS

__all__ = ["PROVINCE", "DEPARTMENT", "DISTRICT", "COMMUNE", "new_store", "put_unit", "put_counters"]

PROVINCE = "000.00.00.H04"
DEPARTMENT = "000.00.03.H04"
DISTRICT = "000.00.20.H04"
COMMUNE = "000.01.20.H04"


def new_store(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS:
        conn.executescript(migration)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    return conn


def put_unit(
    conn: sqlite3.Connection, code: str, name: str, level: str, parent: str | None = None, valid: bool = True
) -> None:
    conn.execute(
        "INSERT INTO units (code, name, level, parent, code_valid, source) VALUES (?, ?, ?, ?, ?, 'import')",
        (code, name, level, parent, int(valid)),
    )
    conn.commit()


def put_counters(conn: sqlite3.Connection, unit: str, period: str, **counts: int) -> None:
    unknown = set(counts) - set(COUNTER_COLUMNS)
    assert not unknown, f"not counter columns: {unknown}"
    columns = ["unit", "period", *counts]
    conn.execute(
        f"INSERT INTO unit_counters ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        (unit, period, *counts.values()),
    )
    conn.commit()
