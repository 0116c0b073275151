"""``docflow rollup --documents STORE``: a province store's own documents of the period into the national store.

The rules are in ``docflow.store.national_documents``; this module reads the province's store (read-only, either
engine), chooses its level-1 codes, and says what was taken, left out or refused, as ``docflow rollup`` says it of
an export.
"""

from __future__ import annotations

import click

from docflow.agency import parse_agency_code
from docflow.cli.store_location import reading
from docflow.i18n import _, ngettext
from docflow.reports.metrics import parse_period
from docflow.safe_text import for_terminal
from docflow.store.database import Database
from docflow.store.national_documents import DocumentsTaken, province_documents, roll_up_documents

__all__ = ["roll_up_store_documents"]


def _store_provinces(conn: object) -> tuple[str, ...]:
    """The level-1 codes of the units on the province's own list (``docflow units import``), as an export's are."""
    codes = conn.execute("SELECT code FROM units WHERE source = 'import'")  # type: ignore[attr-defined]
    return tuple(sorted({level1 for (code,) in codes if (level1 := parse_agency_code(str(code)).level1)}))


def roll_up_store_documents(
    national: Database, store: str, period: str, provinces: tuple[str, ...] | None
) -> dict[str, object]:
    """Roll ``store``'s own documents of ``period`` into ``national``; prints what happened unless asked for JSON
    by the caller, which prints the returned object. ``outcome`` is ``refused`` with a ``reason`` when refused."""
    chosen = parse_period(period)
    with reading(store) as conn:
        owned = provinces or _store_provinces(conn)
        if not owned:
            reason = _("the store has no unit list to say its province: give --province (H04, or H04,H55)")
            return {"store": store, "period": chosen.label, "outcome": "refused", "reason": reason}
        documents = province_documents(conn, owned, chosen.label, chosen.months)
    said: dict[str, object] = {
        "store": store,
        "province": documents.province,
        "period": documents.period,
        "documents": len(documents.rows),
        "left_out_other_province": documents.left_out_other_province,
        "left_out_malformed": documents.left_out_malformed,
    }
    try:
        outcome, before = roll_up_documents(national, documents)
    except DocumentsTaken as taken:
        return {**said, "outcome": "refused", "reason": str(taken)}
    return {**said, "outcome": outcome.value, "previous_documents": before}


def say_documents(said: dict[str, object]) -> None:
    """One line for people: what the documents' roll-up did (to stderr when refused)."""
    if said["outcome"] == "refused":
        line = _("{store}: documents refused: {reason}").format(store=said["store"], reason=said["reason"])
        click.echo(for_terminal(line), err=True)
        return
    count = int(said["documents"])  # type: ignore[call-overload]
    head = ngettext("{count} document", "{count} documents", count).format(count=count)
    if said["outcome"] == "replaced":
        head = _("{documents}, replacing the {before} rolled up before").format(
            documents=head, before=said["previous_documents"]
        )
    others = int(said["left_out_other_province"]) + int(said["left_out_malformed"])  # type: ignore[call-overload]
    if others:
        head += "; " + _("{count} of other provinces or without a readable sender left out").format(count=others)
    line = _("{store}: {province}, {period}: {what}").format(
        store=said["store"], province=said["province"], period=said["period"], what=head
    )
    click.echo(for_terminal(line))
