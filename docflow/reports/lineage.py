"""Which unit a code's documents count towards, across a reorganisation (merges, splits, dissolutions).

The counters stay keyed by the code in the document (``unit_counters.unit``); attribution happens here, when
reading, so importing a corrected lineage never needs re-ingesting. Every report that names units (the summary
ranking, trends, drill-down, export, the meeting report) takes its attribution from one ``Lineage``.

The rule (docs/metrics.md, "Attribution across a reorganisation"): on a day D (the last day of the period
reported), a code whose unit ended before D is counted towards the unit its first successor leads to, following
successors until a unit in force on D, or one with no successor, is reached. A split therefore carries its
history to its first successor only; a dissolved unit (an end, no successor) keeps its own history, shown as
such. A code unknown to the unit list, or a unit still in force, counts towards itself.
"""

from __future__ import annotations

import calendar
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from docflow.reports.metrics import Counters, Period
from docflow.reports.units import has_life_spans

__all__ = ["Lineage", "load_lineage", "last_day", "first_day", "AS_ISSUED"]


def first_day(period: Period) -> str:
    """yyyy-mm-dd: the period's first day."""
    return f"{period.months[0]}-01"


def last_day(period: Period) -> str:
    """yyyy-mm-dd: the period's last day, the day its summary's structure is the one in force."""
    year, month = (int(part) for part in period.months[-1].split("-"))
    return f"{period.months[-1]}-{calendar.monthrange(year, month)[1]:02d}"


@dataclass(frozen=True)
class Lineage:
    """Where each code's counters go on ``day``; codes not in ``target`` count towards themselves."""

    day: str | None
    """yyyy-mm-dd the structure is taken on; None: as issued (every code counts towards itself)."""
    target: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Code → the unit its documents are attributed to, for the codes whose unit ended before ``day``."""

    def of(self, code: str) -> str:
        return self.target.get(code, code)

    @property
    def moves(self) -> bool:
        """Some code counts towards another unit: the readers must attribute."""
        return bool(self.target)

    def sources(self, codes: Iterable[str]) -> list[str]:
        """``codes`` and every code attributed to one of them: what to read to build their rows."""
        wanted = set(codes)
        return sorted(wanted | {code for code, to in self.target.items() if to in wanted})

    def as_json(self) -> str:
        """The mapping as one JSON parameter, for SQL (``json_each``): SQLite caps bound parameters."""
        return json.dumps(dict(self.target))

    def fold(self, by_code: Mapping[str, Counters]) -> dict[str, Counters]:
        """Per-code counters summed per attributed unit."""
        folded: dict[str, Counters] = {}
        for code, counters in by_code.items():
            to = self.target.get(code, code)
            folded[to] = folded[to] + counters if to in folded else counters
        return folded

    def fold_counts(self, by_code: Mapping[str, int]) -> dict[str, int]:
        """Per-code counts summed per attributed unit."""
        folded: dict[str, int] = {}
        for code, count in by_code.items():
            to = self.target.get(code, code)
            folded[to] = folded.get(to, 0) + count
        return folded

    def fold_months(self, by_month: Mapping[tuple[str, str], Counters]) -> dict[tuple[str, str], Counters]:
        """Per-(code, month) counters summed per (attributed unit, month): a merged unit's trend holds its
        predecessors' months."""
        folded: dict[tuple[str, str], Counters] = {}
        for (code, month), counters in by_month.items():
            key = (self.target.get(code, code), month)
            folded[key] = folded[key] + counters if key in folded else counters
        return folded


AS_ISSUED = Lineage(None)
"""No attribution: each document counts towards the code it carries (``--as-issued``)."""


def load_lineage(conn: sqlite3.Connection, day: str) -> Lineage:
    """The attribution of every code whose unit ended before ``day`` (yyyy-mm-dd)."""
    if not has_life_spans(conn):
        return Lineage(day)  # a store older than migration 13: no life spans, nothing moves
    ended = dict(conn.execute("SELECT code, valid_to FROM units WHERE valid_to IS NOT NULL AND valid_to < ?", (day,)))
    if not ended:
        return Lineage(day)
    first: dict[str, str] = dict(
        conn.execute(
            "SELECT code, successor FROM unit_successors s WHERE position ="
            " (SELECT MIN(position) FROM unit_successors WHERE code = s.code)"
        ).fetchall()
    )
    target: dict[str, str] = {}
    for code in ended:
        current, seen = code, {code}
        # Follow first successors while the unit reached has itself ended; a cycle (a list naming a unit its own
        # successor, directly or not) stops where it would repeat.
        while current in ended and current in first and first[current] not in seen:
            current = first[current]
            seen.add(current)
        if current != code:
            target[code] = current
    return Lineage(day, MappingProxyType(target))
