"""``docflow batches``: what happened to each batch, newest first, so that "what happened to my file?" needs no SQL.

The data is ``docflow.reports.batches``; this module parses the options and renders. The store is opened
read-only (``docflow.reports.audit.open_readonly``); every stored text is escaped before it is printed.
"""

from __future__ import annotations

import json
import os
from datetime import date, tzinfo

import click
from rich.console import Console

from docflow.cli.options import config_option, current_config
from docflow.cli.store_location import location_option, reading
from docflow.cli.tables import FittedTable, TableColumn
from docflow.i18n import N_, _, ngettext
from docflow.ingest.outcome import BatchOutcomeKind, outcome_word
from docflow.readers.text import parse_document_date
from docflow.reports.batches import DEFAULT_LIMIT, BatchEntry, BatchQuery, recent_batches
from docflow.safe_text import cell
from docflow.times import for_people

__all__ = ["batches"]

OUTCOMES = (BatchOutcomeKind.INGESTED.value, BatchOutcomeKind.REJECTED.value, BatchOutcomeKind.IN_PROGRESS.value)
"""The outcomes a batch is stored with (a duplicate is not stored again; busy is never stored)."""

_SINCE_FORMS = N_("dd/mm/yyyy (01/12/2026) or yyyy-mm-dd (2026-12-01)")


def _since(text: str | None) -> date | None:
    if text is None:
        return None
    day = parse_document_date(text) if " " not in text.strip() else None
    if day is None:
        message = _("{text!r} is not a day; write {forms}").format(text=text, forms=_(_SINCE_FORMS))
        raise click.BadParameter(message, param_hint="--since")
    return day


@click.command(epilog="Example: docflow batches --since 01/12/2026 --problems")
@config_option
@location_option
@click.option("--since", "since_text", metavar="DATE", help=f"Batches received from this day on: {_SINCE_FORMS}.")
@click.option("--outcome", type=click.Choice(OUTCOMES), help="Only batches with this outcome.")
@click.option(
    "--problems", is_flag=True, help="Only batches refused whole, with refused items, or signatures that did not pass."
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help=f"At most this many (default: {DEFAULT_LIMIT} without --since, all with it).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON array, ISO 8601 times with the offset.")
def batches(
    db: str | None, since_text: str | None, outcome: str | None, problems: bool, limit: int | None, as_json: bool
) -> None:
    """The recent batches, newest first: outcome, counts, signatures that did not pass, the first reasons."""
    config = current_config()
    since = _since(since_text)
    zone = config.display.zone
    query = BatchQuery(since, outcome, limit or (None if since else DEFAULT_LIMIT), zone, problems)
    with reading(db) as conn:
        entries = recent_batches(conn, query)
    if as_json:
        click.echo(json.dumps([entry.to_json() for entry in entries], ensure_ascii=False, indent=2))
        return
    Console(no_color=bool(os.environ.get("NO_COLOR")) or None, highlight=False).print(_table(entries, query, zone))


def _columns() -> tuple[TableColumn, ...]:
    """Made when printed, so that the headers are in the language chosen (``docflow.i18n``)."""
    return (
        # When, which file and what became of it are always shown; the counts give way before the reasons.
        TableColumn(_("Received")),
        TableColumn(_("File"), min_width=12),
        TableColumn(_("Outcome"), wraps=False),
        TableColumn(_("Documents"), priority=1, justify="right", min_width=1),
        TableColumn(_("Signatures"), priority=2, justify="right", min_width=4),
        TableColumn(_("Refused items"), priority=3, justify="right", min_width=1),
        TableColumn(_("Reasons"), min_width=20),
    )


def _table(entries: tuple[BatchEntry, ...], query: BatchQuery, zone: tzinfo) -> FittedTable:
    scope = _("since {day}").format(day=f"{query.since:%d/%m/%Y}") if query.since else _("newest first")
    title = ngettext("{count} batch, {scope} (times in {zone})", "{count} batches, {scope} (times in {zone})",
                     len(entries)).format(count=len(entries), scope=scope, zone=zone)  # fmt: skip
    rows = []
    for entry in entries:
        signatures = str(entry.signatures)
        if entry.signatures_not_passed:
            signatures += _(" ({count} did not pass)").format(count=entry.signatures_not_passed)
        rows.append((
            cell(for_people(entry.received_at, zone)),
            cell(entry.file_name),
            cell(outcome_word(entry.outcome), "red" if entry.outcome == BatchOutcomeKind.REJECTED else ""),
            cell(entry.documents),
            cell(signatures, "yellow" if entry.signatures_not_passed else ""),
            cell(entry.rejected_items, "yellow" if entry.rejected_items else ""),
            cell(_reasons(entry)),
        ))  # fmt: skip
    return FittedTable(title, _columns(), rows)


def _reasons(entry: BatchEntry) -> str:
    lines = [entry.reason] if entry.reason else []
    lines += [f"{rejected.item}: {rejected.reason}" for rejected in entry.first_rejected]
    if entry.rejected_items > len(entry.first_rejected):
        lines.append(_("… and {count} more").format(count=entry.rejected_items - len(entry.first_rejected)))
    return "\n".join(lines)
