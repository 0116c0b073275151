"""What happened to each batch, from the store alone: ``docflow batches`` and the exit code of ``docflow ingest``.

An operator asked "what happened to my file?" answers it here without SQL: the batch's outcome, its counts,
the signatures that did not pass and the first reasons its items were refused (``batches.reason`` and
``rejected_items``). Reads only, through a connection the caller opened (read-only for ``docflow batches``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, tzinfo

from docflow.store.classify import reason_word_for
from docflow.times import for_machines, parse_iso

__all__ = [
    "DEFAULT_LIMIT",
    "FIRST_REASONS",
    "RejectedEntry",
    "BatchEntry",
    "BatchQuery",
    "StoreMarks",
    "recent_batches",
    "batch_entry",
    "store_marks",
]

DEFAULT_LIMIT = 50
"""Batches listed when no ``--since`` is given: a few days of a province's inbox, one screen of reasons."""
FIRST_REASONS = 3
"""Refused items shown per batch; the rest are counted (``docflow sql`` lists them all)."""

_UNTRUSTED = "untrusted"
_SELECT = (
    "SELECT id, file_name, sha256, kind, received_at, processed_at, outcome, reason,"
    " documents, signatures, rejected_items FROM batches"
)


@dataclass(frozen=True)
class RejectedEntry:
    """One refused item of a batch: the item (file, row or line) and why."""

    item: str
    reason: str


@dataclass(frozen=True)
class BatchEntry:
    """One batch as the store holds it, with what an operator needs to act on it."""

    id: int
    file_name: str
    sha256: str
    kind: str
    received_at: str
    """As stored: ISO 8601 (UTC)."""
    processed_at: str
    outcome: str
    reason: str | None
    documents: int
    signatures: int
    rejected_items: int
    signatures_not_passed: int = 0
    first_rejected: tuple[RejectedEntry, ...] = ()
    """The first ``FIRST_REASONS`` refused items, in the order they were read."""

    @property
    def has_problems(self) -> bool:
        """Something of it was refused or did not pass (the whole batch, items, or signatures)."""
        return self.outcome == "rejected" or self.rejected_items > 0 or self.signatures_not_passed > 0

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file_name,
            "sha256": self.sha256,
            "kind": self.kind,
            "received_at": _machine_time(self.received_at),
            "processed_at": _machine_time(self.processed_at),
            "outcome": self.outcome,
            "reason": self.reason,
            "documents": self.documents,
            "signatures": self.signatures,
            "signatures_not_passed": self.signatures_not_passed,
            "rejected_items": self.rejected_items,
            "first_rejected": [{"item": entry.item, "reason": entry.reason} for entry in self.first_rejected],
        }


@dataclass(frozen=True)
class BatchQuery:
    """Which batches to list: received on or after ``since`` (a day in ``zone``), of one ``outcome``, only those
    with something refused or not passed (``problems``), at most ``limit`` (None: all), newest first."""

    since: date | None = None
    outcome: str | None = None
    limit: int | None = DEFAULT_LIMIT
    zone: tzinfo | None = None
    problems: bool = False


@dataclass(frozen=True)
class StoreMarks:
    """The last signature and refused-item ids before a batch was read: its own rows come after them, so they
    are found by id instead of by a scan of tables that have no index on ``batch_id``."""

    signature_id: int = 0
    rejected_id: int = 0


def store_marks(conn: sqlite3.Connection) -> StoreMarks:
    """Where the signatures and refused items stand now (before ingesting a batch)."""
    signature = conn.execute("SELECT COALESCE(MAX(id), 0) FROM signatures").fetchone()[0]
    rejected = conn.execute("SELECT COALESCE(MAX(id), 0) FROM rejected_items").fetchone()[0]
    return StoreMarks(int(signature), int(rejected))


def recent_batches(conn: sqlite3.Connection, query: BatchQuery) -> tuple[BatchEntry, ...]:
    """The batches ``query`` selects, newest first, each with its first refused items and failed signatures."""
    conditions: list[str] = []
    values: list[object] = []
    if query.since is not None:
        start = datetime.combine(query.since, time(), query.zone)
        # datetime() reads the offset, so a row written with any offset compares as the moment it is.
        conditions.append("datetime(received_at) >= datetime(?)")
        values.append(for_machines(start))
    if query.outcome is not None:
        conditions.append("outcome = ?")
        values.append(query.outcome)
    if query.problems:
        conditions.append(
            "(outcome = 'rejected' OR rejected_items > 0 OR id IN (SELECT CAST(value AS INTEGER) FROM json_each(?)))"
        )
        values.append(json.dumps(sorted(_batches_with_failed_signatures(conn))))
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    limit = " LIMIT ?" if query.limit is not None else ""
    if query.limit is not None:
        values.append(query.limit)
    rows = conn.execute(f"{_SELECT}{where} ORDER BY datetime(received_at) DESC, id DESC{limit}", values)
    return _completed(conn, [_entry(row) for row in rows])


def _batches_with_failed_signatures(conn: sqlite3.Connection) -> set[int]:
    """Every batch with a signature that did not pass: one pass over the signatures (no index on batch_id)."""
    rows = conn.execute(
        "SELECT batch_id, indication, subindication, trust_checked, COUNT(*) FROM signatures"
        " WHERE indication != 'TOTAL_PASSED' GROUP BY 1, 2, 3, 4"
    )
    return {
        batch_id for batch_id, indication, sub, checked, count in rows if _not_passed(indication, sub, checked, count)
    }


def batch_entry(conn: sqlite3.Connection, sha256: str, after: StoreMarks = StoreMarks()) -> BatchEntry | None:
    """The batch of this SHA-256, or None when the store has none; ``after``: its rows come after these marks
    (a batch just ingested), which spares a scan of every signature."""
    row = conn.execute(f"{_SELECT} WHERE sha256 = ?", (sha256,)).fetchone()
    return _completed(conn, [_entry(row)], after)[0] if row else None


def _not_passed(indication: str, subindication: str | None, trust_checked: int | None, count: int) -> int:
    """A verdict other than TOTAL_PASSED counts, except a signature stored without a trust store
    (``--no-trust``, ``trust_checked = 0``) that failed only for want of a trust anchor: the run said it
    would not check that."""
    if trust_checked == 0 and reason_word_for(indication, subindication) == _UNTRUSTED:
        return 0
    return int(count)


def _entry(row: Sequence[object]) -> BatchEntry:
    return BatchEntry(*row)  # type: ignore[arg-type]  # the columns of _SELECT, in field order


def _completed(
    conn: sqlite3.Connection, entries: list[BatchEntry], after: StoreMarks = StoreMarks()
) -> tuple[BatchEntry, ...]:
    """The entries with their first refused items and signatures that did not pass: one pass over each table."""
    ids = [entry.id for entry in entries]
    if not ids:
        return ()
    placeholders = ", ".join("?" for _ in ids)
    first: dict[int, list[RejectedEntry]] = {}
    for batch_id, item, reason in conn.execute(
        "SELECT batch_id, item_name, reason FROM (SELECT batch_id, item_name, reason,"
        " ROW_NUMBER() OVER (PARTITION BY batch_id ORDER BY id) AS place"
        f" FROM rejected_items WHERE id > ? AND batch_id IN ({placeholders})) AS ranked WHERE place <= ?"
        " ORDER BY batch_id, place",
        [after.rejected_id, *ids, FIRST_REASONS],
    ):
        first.setdefault(batch_id, []).append(RejectedEntry(item, reason))
    failed: dict[int, int] = {}
    for batch_id, indication, sub, checked, count in conn.execute(
        "SELECT batch_id, indication, subindication, trust_checked, COUNT(*) FROM signatures"
        f" WHERE id > ? AND batch_id IN ({placeholders}) AND indication != 'TOTAL_PASSED' GROUP BY 1, 2, 3, 4",
        [after.signature_id, *ids],
    ):
        failed[batch_id] = failed.get(batch_id, 0) + _not_passed(indication, sub, checked, count)
    return tuple(
        replace(entry, signatures_not_passed=failed.get(entry.id, 0), first_rejected=tuple(first.get(entry.id, ())))
        for entry in entries
    )


def _machine_time(stored: str) -> str:
    """A stored time as ISO 8601 with its offset; a value that is not a time is given as stored."""
    moment = parse_iso(stored)
    return for_machines(moment) if moment is not None else stored
