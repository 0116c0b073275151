"""``docflow summary --unit``: one unit's outgoing documents that fail a rate, and the words why.

Each document is judged by ``docflow.store.classify.standing``, the rule the counters are made from, so the
documents listed as failing a rate are exactly that rate's denominator minus its numerator (docs/metrics.md).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from docflow.reports.metrics import Period, SummarySettings
from docflow.reports.summary import UnitSummary, summarise
from docflow.store.classify import Rate, Standing, standing
from docflow.store.merging import STATE_COLUMNS, doc_state

__all__ = ["FailedDocument", "UnitDetail", "unit_detail", "RATES", "Rate"]

RATES: tuple[Rate, ...] = (Rate.E_ISSUANCE, Rate.SIGNATURE, Rate.ND30)
"""The outgoing rates a drill-down explains, in the order it lists them."""


@dataclass(frozen=True)
class FailedDocument:
    """An outgoing document of the drill-down failing at least one rate."""

    document_id: str
    promulgation_date: str | None
    subject: str | None
    standing: Standing

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
    failed: tuple[FailedDocument, ...]

    def failing(self, rate: Rate) -> tuple[FailedDocument, ...]:
        return tuple(document for document in self.failed if document.fails(rate))


def unit_detail(
    conn: sqlite3.Connection, code: str, period: Period, settings: SummarySettings = SummarySettings()
) -> UnitDetail:
    """One unit's summary row and its outgoing documents that fail any rate, with why."""
    summary = summarise(conn, period, settings, unit=code)
    rows = conn.execute(
        f"SELECT document_id, promulgation_date, subject, {', '.join(STATE_COLUMNS)} FROM documents"
        f" WHERE sender = ? AND confidential = 0 AND period IN ({', '.join('?' for _ in period.months)})"
        " AND business_status NOT IN ('revoked', 'replaced')"
        " ORDER BY promulgation_date, document_id",
        (code, *period.months),
    )
    failed = []
    for document_id, promulgation_date, subject, *state in rows:
        document = FailedDocument(document_id, promulgation_date, subject, standing(doc_state(tuple(state))))
        if document.problems:
            failed.append(document)
    return UnitDetail(summary.units[0] if summary.units else None, tuple(failed))
