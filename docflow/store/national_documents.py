"""The national store's documents (``docflow rollup --documents STORE``): each province's own documents, optional.

The counters (``docflow.store.national``) are what summaries read; a national office that must also check
documents across provinces (the same document counted by two provinces, a national audit query) rolls the
documents in too, from each province's store. The rules are the counters' rules, on documents:

- **a document is taken only from its sender's province's store** (the last group of the sender's code among the
  store's level-1 codes); the others are left out and counted, as the counters leave other provinces' units out;
- **one row per document id** (``national_documents``' key): a second province's store claiming a document is
  refused whole, naming the province holding it, never counted twice; two roll-ups racing meet at the key;
- **rolling a province's period up again replaces its documents** of that period in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from docflow.agency import parse_agency_code
from docflow.i18n import _
from docflow.store.database import Database, KeyTaken
from docflow.store.national import RollupOutcome

__all__ = [
    "DOCUMENT_COLUMNS",
    "DocumentsTaken",
    "ProvinceDocuments",
    "province_documents",
    "roll_up_documents",
]

DOCUMENT_COLUMNS = (
    "document_id", "sender", "period", "promulgation_date", "confidential", "channel", "sent_over_axis",
    "business_status", "signature_count", "has_valid_signature", "has_valid_personal", "has_valid_organisation",
    "invalid_reasons",
)  # fmt: skip
"""What a national office checks of a document: the columns of a province's ``documents`` it reads and keeps."""


_IDS_PER_STATEMENT = 500
"""Ids bound in one ``IN (…)``, below SQLite's oldest limit on bound parameters."""


@dataclass(frozen=True)
class ProvinceDocuments:
    """A province store's own documents of a period, ready to roll up."""

    province: str
    """The store's level-1 codes, comma-separated (``H04`` or ``H04,H55``)."""
    period: str
    months: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    """``DOCUMENT_COLUMNS`` values, sorted by document id."""
    left_out_other_province: int
    left_out_malformed: int


class DocumentsTaken(Exception):
    """Documents of this store are held by another province's roll-up; nothing of this one was written."""


def province_documents(
    conn: sqlite3.Connection, provinces: Sequence[str], period: str, months: Sequence[str]
) -> ProvinceDocuments:
    """The documents of ``months`` in the province store ``conn`` (a reader) whose sender is one of ``provinces``."""
    marks = ", ".join("?" * len(months))
    rows = conn.execute(
        f"SELECT {', '.join(DOCUMENT_COLUMNS)} FROM documents WHERE period IN ({marks}) ORDER BY document_id",
        tuple(months),
    ).fetchall()
    owned, other, malformed = [], 0, 0
    for row in rows:
        level1 = parse_agency_code(str(row[1] or "")).level1
        if level1 is None:
            malformed += 1
        elif level1 in provinces:
            owned.append(tuple(row))
        else:
            other += 1
    return ProvinceDocuments(",".join(provinces), period, tuple(months), tuple(owned), other, malformed)


def roll_up_documents(db: Database, documents: ProvinceDocuments) -> tuple[RollupOutcome, int]:
    """Replace the province's documents of the period with ``documents``, in one transaction; returns whether the
    province had some there before, and how many. DocumentsTaken, with nothing written, when another province's
    roll-up holds one of them."""
    where = f"province = ? AND period IN ({', '.join('?' * len(documents.months))})"
    try:
        with db.transaction():
            db.serialise(f"docflow rollup documents {documents.province}")
            (before,) = db.execute(
                f"SELECT count(*) FROM national_documents WHERE {where}", (documents.province, *documents.months)
            ).fetchone()
            db.execute(f"DELETE FROM national_documents WHERE {where}", (documents.province, *documents.months))
            # A document the province rolled up under another month before (its date learned since) moves here.
            ids = [str(row[0]) for row in documents.rows]
            for start in range(0, len(ids), _IDS_PER_STATEMENT):
                chunk = ids[start : start + _IDS_PER_STATEMENT]
                marks = ", ".join("?" * len(chunk))
                query = f"DELETE FROM national_documents WHERE province = ? AND document_id IN ({marks})"
                db.execute(query, (documents.province, *chunk))
            db.insert_rows(
                "national_documents",
                ("province", *DOCUMENT_COLUMNS),
                ((documents.province, *row) for row in documents.rows),
            )
    except KeyTaken:
        raise DocumentsTaken(_held_by(db, documents)) from None
    return (RollupOutcome.REPLACED if before else RollupOutcome.ADDED), int(before)


def _held_by(db: Database, documents: ProvinceDocuments) -> str:
    ids = [str(row[0]) for row in documents.rows]
    held: dict[str, str] = {}
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        chunk = ids[start : start + _IDS_PER_STATEMENT]
        query = (
            f"SELECT document_id, province FROM national_documents WHERE document_id IN ({', '.join('?' * len(chunk))})"
            " AND province <> ?"
        )
        for document_id, province in db.execute(query, (*chunk, documents.province)):
            held.setdefault(str(document_id), str(province))
    first = sorted(held.items())[:3]
    return _(
        "{count} of these documents are held by another province's roll-up ({examples}); nothing of this store was "
        "written: each document comes from its sender's province only"
    ).format(count=len(held), examples=", ".join(f"{doc} ({province})" for doc, province in first))
