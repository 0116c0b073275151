"""``docflow rollup --documents STORE``: a province store's own documents of the period into the national store.

The rules are in ``docflow.store.national_documents``; this module reads the province's store (read-only, either
engine), chooses its level-1 codes, and says what was taken, left out or refused, as ``docflow rollup`` says it of
an export.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace

import click

from docflow.agency import parse_agency_code
from docflow.cli.store_location import reading
from docflow.i18n import _, ngettext
from docflow.reports.metrics import parse_period
from docflow.safe_text import for_terminal
from docflow.store.database import Database
from docflow.store.location import parse_location
from docflow.store.national import RollupOutcome
from docflow.store.national_documents import DocumentsTaken, province_documents, roll_up_documents

__all__ = ["DocumentsRollup", "roll_up_store_documents"]


@dataclass(frozen=True)
class DocumentsRollup:
    """What ``--documents STORE`` did with one store: ``outcome`` ``added`` or ``replaced``, or ``refused`` with a
    ``reason``."""

    store: str
    """The store as people may see it: a URL's password masked."""
    period: str
    outcome: str
    province: str = ""
    documents: int = 0
    previous_documents: int = 0
    left_out_other_province: int = 0
    left_out_malformed: int = 0
    reason: str | None = None

    def to_json(self) -> dict[str, object]:
        if self.reason is not None and not self.province:
            return {"store": self.store, "period": self.period, "outcome": self.outcome, "reason": self.reason}
        shown: dict[str, object] = {
            "store": self.store,
            "province": self.province,
            "period": self.period,
            "outcome": self.outcome,
            "documents": self.documents,
            "previous_documents": self.previous_documents,
            "left_out_other_province": self.left_out_other_province,
            "left_out_malformed": self.left_out_malformed,
        }
        return shown if self.reason is None else {**shown, "reason": self.reason}

    def say(self) -> None:
        """One line for people: what was done (on stderr when refused)."""
        if self.reason is not None:
            line = _("{store}: documents refused: {reason}").format(store=self.store, reason=self.reason)
            click.echo(for_terminal(line), err=True)
            return
        head = ngettext("{count} document", "{count} documents", self.documents).format(count=self.documents)
        if self.outcome == RollupOutcome.REPLACED.value:
            head = _("{documents}, replacing the {before} rolled up before").format(
                documents=head, before=self.previous_documents
            )
        others = self.left_out_other_province + self.left_out_malformed
        if others:
            head += "; " + _("{count} of other provinces or without a readable sender left out").format(count=others)
        line = _("{store}: {province}, {period}: {what}").format(
            store=self.store, province=self.province, period=self.period, what=head
        )
        click.echo(for_terminal(line))


def _store_provinces(conn: sqlite3.Connection) -> tuple[str, ...]:
    """The level-1 codes of the units on the province's own list (``docflow units import``), as an export's are."""
    codes = conn.execute("SELECT code FROM units WHERE source = 'import'")
    return tuple(sorted({level1 for (code,) in codes if (level1 := parse_agency_code(str(code)).level1)}))


def roll_up_store_documents(
    national: Database, store: str, period: str, provinces: tuple[str, ...] | None
) -> DocumentsRollup:
    """Roll ``store``'s own documents of ``period`` into ``national``."""
    chosen = parse_period(period)
    shown = parse_location(store).shown
    with reading(store) as conn:
        owned = provinces or _store_provinces(conn)
        if not owned:
            reason = _("the store has no unit list to say its province: give --province (H04, or H04,H55)")
            return DocumentsRollup(shown, chosen.label, "refused", reason=reason)
        documents = province_documents(conn, owned, chosen.label, chosen.months)
    taken = DocumentsRollup(
        shown,
        documents.period,
        "refused",
        province=documents.province,
        documents=len(documents.rows),
        left_out_other_province=documents.left_out_other_province,
        left_out_malformed=documents.left_out_malformed,
    )
    try:
        outcome, before = roll_up_documents(national, documents)
    except DocumentsTaken as refused:
        return replace(taken, reason=str(refused))
    return replace(taken, outcome=outcome.value, previous_documents=before)
