"""What an auditor can query with ``docflow sql``: the store's views and tables, each with what it holds and how
many rows, and a table's columns with their types.

The views made for auditors come first (docs/schema.md, "Views"): they join what a question needs, so that
"which signatures failed, in which batch" is one ``SELECT``. Everything is read through the read-only connection
``docflow sql`` uses; ``PRAGMA table_info`` is among the pragmas its authorizer lets through.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from docflow.i18n import N_

__all__ = ["Queryable", "ColumnInfo", "DESCRIPTIONS", "queryables", "columns_of", "UnknownTable"]

DESCRIPTIONS: dict[str, str] = {
    "v_document_signatures": N_("Every signature with its document and batch: where most questions start"),
    "v_failed_signatures": N_("The signatures that did not pass, or are not the sending unit's own"),
    "v_unit_rates": N_("Each unit's counters per month, with its rates"),
    "v_document_trail": N_("The batches that described each document, and when they came"),
    "batches": N_("One row per batch docflow took"),
    "documents": N_("One row per document, whichever sources described it"),
    "document_sources": N_("Every document, batch and item that described a document"),
    "recipients": N_("One row per document and receiving unit"),
    "signatures": N_("Every verified signature, with its full verdict"),
    "certificates": N_("One row per signer certificate seen"),
    "issued_certificates": N_("The list of certificates issued to units (docflow certs import)"),
    "status_events": N_("edXML status packages (codes 01-16)"),
    "rejected_items": N_("What a batch held that could not be used"),
    "units": N_("The units docflow knows"),
    "unit_counters": N_("Per unit and month: the counters summaries read"),
    "unit_year_counters": N_("Per unit and year: the sums of unit_counters"),
    "payloads": N_("The signed files kept beside the store"),
    "trust_states": N_("Each trust store state verdicts were made under"),
    "verdict_changes": N_("Every verdict docflow reverify changed"),
    "national_units": N_("National store: each unit's counters per period, from its own province's export"),
    "national_exports": N_("National store: each province's export rolled up, per period"),
    "national_meta": N_("National store: its kind and schema version"),
}
"""One line per view and table (English msgids: the caller translates them)."""


class UnknownTable(LookupError):
    """No table or view of that name in the store."""


@dataclass(frozen=True)
class Queryable:
    name: str
    kind: str
    """``view`` or ``table``."""
    rows: int
    description: str
    """An English msgid from ``DESCRIPTIONS``; empty for a table docflow does not describe."""


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    not_null: bool
    primary_key: bool


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _place(described: list[str], name: str) -> int:
    """Where ``name`` comes in ``DESCRIPTIONS`` (most useful first); those docflow does not describe last."""
    return described.index(name) if name in described else len(described)


def queryables(conn: sqlite3.Connection) -> tuple[Queryable, ...]:
    """The views (those for auditors first), then the tables, each with its row count; SQLite's own are left out."""
    found = conn.execute(
        "SELECT name, type FROM sqlite_schema WHERE type IN ('view', 'table') AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    # The counts read every row of a view: cheap here, as SQLite drops the joins a count does not need.
    described = list(DESCRIPTIONS)
    ordered = sorted(found, key=lambda item: (item[1] != "view", _place(described, item[0]), item[0]))
    return tuple(
        Queryable(name, kind, conn.execute(f"SELECT count(*) FROM {_quoted(name)}").fetchone()[0],
                  DESCRIPTIONS.get(name, ""))
        for name, kind in ordered
    )  # fmt: skip


def columns_of(conn: sqlite3.Connection, name: str) -> tuple[ColumnInfo, ...]:
    """``name``'s columns in order, with their declared types; UnknownTable when there is no such table or view."""
    known = conn.execute(
        "SELECT name FROM sqlite_schema WHERE type IN ('view', 'table') AND name = ? COLLATE NOCASE", (name,)
    ).fetchone()
    if known is None:
        raise UnknownTable(name)
    rows = conn.execute(f"PRAGMA table_info({_quoted(known[0])})").fetchall()
    return tuple(ColumnInfo(row[1], row[2] or "", bool(row[3]), bool(row[5])) for row in rows)
