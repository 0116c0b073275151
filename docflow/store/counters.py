"""The per-unit, per-month counters kept beside the documents, and their rebuild from the documents alone.

Every change to a document goes through ``CounterBook.changing``, which computes the document's
counter contribution before and after the change and applies the difference in the same
transaction; new documents in bulk add their contribution directly (``apply``), as "before" is
nothing. The counters therefore always equal what ``expected_counters`` builds from the documents.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from docflow.store.classify import CounterDelta, RecipientState, contribution
from docflow.store.merging import STATE_COLUMNS, doc_state
from docflow.store.pg_connection import hold_documents
from docflow.store.schema import COUNTER_COLUMNS

__all__ = ["CounterBook", "CounterRow", "STATE_SELECT"]


@dataclass(frozen=True)
class CounterRow:
    """One non-zero (unit, period) counters row, counters in ``COUNTER_COLUMNS`` order."""

    unit: str
    period: str
    values: tuple[int, ...]


STATE_SELECT = ", ".join(STATE_COLUMNS)
"""``STATE_COLUMNS`` as a SELECT list, in ``doc_state``'s order."""

_COUNTERS_UPSERT = (
    f"INSERT INTO unit_counters (unit, period, {', '.join(COUNTER_COLUMNS)})"
    f" VALUES (?, ?, {', '.join('?' * len(COUNTER_COLUMNS))})"
    " ON CONFLICT (unit, period) DO UPDATE SET "
    + ", ".join(f"{name} = unit_counters.{name} + excluded.{name}" for name in COUNTER_COLUMNS)
)


class CounterBook:
    """The ``unit_counters`` rows of one connection, changed only by differences of document contributions."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._changes_open: set[str] = set()
        """Documents inside a ``changing`` block: an inner block for the same document adds nothing."""
        self._pending: dict[tuple[str, str], Counter[str]] = {}
        """Differences made in this transaction, written by ``flush`` just before it commits."""

    @contextmanager
    def changing(self, document_id: str) -> Iterator[None]:
        """Apply, in this transaction, the counter difference everything in the block makes to the document.

        Blocks for the same document nest: only the outermost one computes the difference, so a
        caller making several changes to one document (a record, then its signatures) pays once.
        """
        if document_id in self._changes_open:
            yield
            return
        # Writers on PostgreSQL run at once: a document's before-and-after is taken by one of them at a time.
        hold_documents(self._conn, [document_id])
        before = self._contribution(document_id)
        self._changes_open.add(document_id)
        try:
            yield
        finally:
            self._changes_open.discard(document_id)
        after = self._contribution(document_id)
        difference: dict[tuple[str, str], CounterDelta] = {}
        for key in before.keys() | after.keys():
            delta = Counter(after.get(key, Counter()))
            delta.subtract(before.get(key, Counter()))
            difference[key] = delta
        self.apply(difference)

    def _contribution(self, document_id: str) -> dict[tuple[str, str], CounterDelta]:
        row = self._conn.execute(
            f"SELECT {STATE_SELECT} FROM documents WHERE document_id = ?", (document_id,)
        ).fetchone()
        if row is None:
            return {}
        recipients = self._conn.execute(
            "SELECT unit, received_electronic, handled_at FROM recipients WHERE document_id = ?", (document_id,)
        ).fetchall()
        return contribution(doc_state(row), [RecipientState(u, bool(e), h) for u, e, h in recipients])

    def apply(self, deltas: dict[tuple[str, str], CounterDelta]) -> None:
        """Add ``deltas`` to the counters (unit, period) → column → amount, when the transaction commits (``flush``)."""
        for key, delta in deltas.items():
            self._pending.setdefault(key, Counter()).update(delta)

    def flush(self) -> None:
        """Write the differences of this transaction: one upsert per (unit, period) row, in key order.

        A row is written once per transaction however many documents moved it, and always in the same order, so
        that writers sharing a province's units on PostgreSQL queue for them and never wait for each other in a
        circle; they take no row of the counters before this, at the transaction's end."""
        pending, self._pending = self._pending, {}
        # One upsert of every column (adding zeros changes nothing) instead of an insert and an update per row.
        rows = [
            (unit, period, *(delta.get(name, 0) for name in COUNTER_COLUMNS))
            for (unit, period), delta in sorted(pending.items())
            if any(delta.values())
        ]
        self._conn.executemany(_COUNTERS_UPSERT, rows)

    def discard(self) -> None:
        """The transaction was rolled back: so are its differences."""
        self._pending.clear()

    def rows(self) -> list[CounterRow]:
        """The maintained counters, all-zero rows left out, sorted by unit and period."""
        columns = ", ".join(COUNTER_COLUMNS)
        rows = self._conn.execute(f"SELECT unit, period, {columns} FROM unit_counters ORDER BY unit, period")
        return [CounterRow(unit, period, tuple(values)) for unit, period, *values in rows if any(values)]

    def expected(self) -> list[CounterRow]:
        """The counters as they would be rebuilt from documents alone (the reference for tests)."""
        totals: dict[tuple[str, str], Counter[str]] = {}
        recipients: dict[str, list[RecipientState]] = {}
        for document_id, unit, electronic, handled in self._conn.execute(
            "SELECT document_id, unit, received_electronic, handled_at FROM recipients"
        ):
            recipients.setdefault(document_id, []).append(RecipientState(unit, bool(electronic), handled))
        for document_id, *state in self._conn.execute(f"SELECT document_id, {STATE_SELECT} FROM documents"):
            for key, delta in contribution(doc_state(tuple(state)), recipients.get(document_id, [])).items():
                totals.setdefault(key, Counter()).update(delta)
        rows = [
            CounterRow(unit, period, tuple(totals[(unit, period)][name] for name in COUNTER_COLUMNS))
            for unit, period in sorted(totals)
        ]
        return [row for row in rows if any(row.values)]

    def replace_all(self, rows: list[CounterRow]) -> None:
        """Inside a transaction: the counters become ``rows`` (the ``--rebuild`` repair path)."""
        self._pending.clear()
        self._conn.execute("DELETE FROM unit_counters")
        marks = ", ".join("?" for _ in range(len(COUNTER_COLUMNS) + 2))
        self._conn.executemany(
            f"INSERT INTO unit_counters (unit, period, {', '.join(COUNTER_COLUMNS)}) VALUES ({marks})",
            [(row.unit, row.period, *row.values) for row in rows],
        )
