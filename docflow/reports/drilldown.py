"""``docflow summary --unit``: one unit's outgoing documents that fail a rate, and the words why.

Each document is judged by ``docflow.store.classify.standing``, the rule the counters are made from, so the
documents listed as failing a rate are exactly that rate's denominator minus its numerator (docs/metrics.md).
``judged_documents`` is the one reading of a unit's counted outgoing documents: the drill-down keeps those
failing a rate, ``docflow export`` (``docflow.reports.export``) lists them all.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from docflow.reports.metrics import Period, SummarySettings
from docflow.reports.summary import UnitSummary, summarise
from docflow.store.classify import DocState, Rate, Standing, standing
from docflow.store.merging import STATE_COLUMNS, doc_state

__all__ = ["JudgedDocument", "UnitDetail", "unit_detail", "judged_documents", "COUNTED", "RATES", "Rate"]

RATES: tuple[Rate, ...] = (Rate.E_ISSUANCE, Rate.SIGNATURE, Rate.ND30)
"""The outgoing rates a drill-down explains, in the order it lists them."""

COUNTED = "d.confidential = 0 AND d.business_status NOT IN ('revoked', 'replaced')"
"""The documents (``documents AS d``) in a unit's rates, as ``classify.contribution`` counts them: confidential
ones are counted apart and listed nowhere, revoked and replaced ones count for nothing."""


@dataclass(frozen=True)
class JudgedDocument:
    """A counted outgoing document (not confidential, not revoked or replaced) and its standing on each rate."""

    document_id: str
    promulgation_date: str | None
    subject: str | None
    standing: Standing
    number: str | None = None
    notation: str | None = None
    state: DocState | None = None
    """The stored columns the standing was judged from (channel, seen on the axis, signature flags)."""

    def fails(self, rate: Rate) -> tuple[str, ...]:
        """The reason words this document fails ``rate`` for; empty when it passes or is not counted for it."""
        judged = self.standing.of(rate)
        return judged.reasons if judged.failed else ()

    @property
    def problems(self) -> tuple[str, ...]:
        """Every reason word, over all rates, each once, in the order the rates list them."""
        words: list[str] = []
        for rate in RATES:
            words += [word for word in self.fails(rate) if word not in words]
        return tuple(words)

    def to_json(self) -> dict[str, object]:
        return {
            "document_id": self.document_id,
            "promulgation_date": self.promulgation_date,
            "subject": self.subject,
            "problems": list(self.problems),
            "fails": {rate.value: list(self.fails(rate)) for rate in RATES if self.fails(rate)},
        }


@dataclass(frozen=True)
class UnitDetail:
    summary: UnitSummary | None
    failed: tuple[JudgedDocument, ...]

    def failing(self, rate: Rate) -> tuple[JudgedDocument, ...]:
        return tuple(document for document in self.failed if document.fails(rate))


def judged_documents(conn: sqlite3.Connection, row: UnitSummary, period: Period) -> tuple[JudgedDocument, ...]:
    """Every outgoing document counted for ``row``'s unit in ``period`` (its predecessors' too, as its counters
    hold them), by date then id, each judged by the one rule."""
    codes = (row.unit.code, *row.predecessors)
    rows = conn.execute(
        f"SELECT document_id, promulgation_date, subject, number, notation, {', '.join(STATE_COLUMNS)}"
        f" FROM documents AS d WHERE sender IN ({', '.join('?' for _ in codes)})"
        f" AND period IN ({', '.join('?' for _ in period.months)})"
        f" AND {COUNTED} ORDER BY promulgation_date, document_id",
        (*codes, *period.months),
    )
    judged = []
    for document_id, promulgation_date, subject, number, notation, *columns in rows:
        state = doc_state(tuple(columns))
        judged.append(JudgedDocument(document_id, promulgation_date, subject, standing(state), number, notation, state))
    return tuple(judged)


def unit_detail(
    conn: sqlite3.Connection,
    code: str,
    period: Period,
    settings: SummarySettings = SummarySettings(),
    as_issued: bool = False,
) -> UnitDetail:
    """One unit's summary row and its outgoing documents (its predecessors' too) that fail any rate, with why."""
    summary = summarise(conn, period, settings, unit=code, as_issued=as_issued)
    if not summary.units and not as_issued:
        # A unit that ended before the period's end has no row of its own there: it is shown as it was.
        summary = summarise(conn, period, settings, unit=code, as_issued=True)
    if not summary.units:
        return UnitDetail(None, ())
    row = summary.units[0]
    return UnitDetail(row, tuple(document for document in judged_documents(conn, row, period) if document.problems))
