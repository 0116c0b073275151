"""What ``docflow ingest`` says about each batch, and the exit code the run ends with.

0: every item of every batch was accepted; 1: some items were refused or some signatures did not pass;
2: a batch was refused whole, or read with every item refused (the watcher files both in rejected/), or
not taken (the store was busy). Several batches: the worst. A batch given
again (a duplicate) is judged by what the store holds of it, so the same file always gets the same answer.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import tzinfo

import click

from docflow.i18n import _, ngettext
from docflow.ingest.outcome import BatchOutcome, BatchOutcomeKind, outcome_word
from docflow.reports.batches import BatchEntry, StoreMarks, batch_entry
from docflow.safe_text import for_terminal
from docflow.store.batch_counts import StoredCounts, stored_counts
from docflow.store.core import Store
from docflow.times import for_people

__all__ = ["IngestExit", "EXIT_CODES_HELP", "Judged", "judge", "print_outcome", "outcome_word"]


class IngestExit(enum.IntEnum):
    """``docflow ingest``'s exit code; a larger one is worse."""

    ACCEPTED = 0
    SOME_REFUSED = 1
    BATCH_REFUSED = 2


EXIT_CODES_HELP = (
    "Exit code: 0 when every item was accepted; 1 when some items were refused or some signatures did not "
    "pass; 2 when a batch was refused whole, had every item refused, or was not taken (several batches: the "
    "worst)."
)


@dataclass(frozen=True)
class Judged:
    """One batch's outcome with what the store holds of it (None when nothing was recorded)."""

    outcome: BatchOutcome
    entry: BatchEntry | None
    nothing_accepted: bool = False
    """Read, but every item refused: the watcher files such a batch in rejected/, and it exits 2 here."""
    stored: StoredCounts | None = None
    """What the store holds of a batch just ingested (the line says what was stored, not what was read)."""

    @property
    def exit_code(self) -> IngestExit:
        if self.outcome.outcome in (BatchOutcomeKind.REJECTED, BatchOutcomeKind.BUSY):
            return IngestExit.BATCH_REFUSED
        if self.entry is None:
            return IngestExit.ACCEPTED
        if self.entry.outcome == BatchOutcomeKind.REJECTED or self.nothing_accepted:
            return IngestExit.BATCH_REFUSED
        return IngestExit.SOME_REFUSED if self.entry.has_problems else IngestExit.ACCEPTED


def judge(store: Store, outcome: BatchOutcome, before: StoreMarks) -> Judged:
    """``outcome`` with the store's record of its batch; ``before``: the store's marks before it was read."""
    if outcome.outcome == BatchOutcomeKind.INGESTED:
        entry = batch_entry(store.conn, outcome.sha256, before)
        stored = stored_counts(store.conn, entry.id) if entry is not None else None
        return Judged(outcome, entry, store.nothing_accepted(outcome.sha256), stored)
    if outcome.outcome == BatchOutcomeKind.DUPLICATE:
        entry = batch_entry(store.conn, outcome.sha256)
        return Judged(outcome, entry, store.nothing_accepted(outcome.sha256))
    return Judged(outcome, None)


def print_outcome(judged: Judged, as_json: bool, zone: tzinfo | None) -> None:
    """One JSON line (as before issue 17), or a line for people with the first refused items under it."""
    outcome, entry = judged.outcome, judged.entry
    if as_json:
        click.echo(json.dumps(outcome.to_json(), ensure_ascii=False))
        return
    if outcome.outcome == BatchOutcomeKind.INGESTED:
        stored = judged.stored or StoredCounts()
        refused = outcome.rejected_items
        refused_text = ngettext("{count} rejected item", "{count} rejected items", refused).format(count=refused)
        line = _("{file}: ingested: {stored}, {refused}").format(
            file=outcome.file, stored=stored.text(), refused=refused_text
        )
        if entry is not None and entry.signatures_not_passed:
            failed = entry.signatures_not_passed
            line += "; " + ngettext("{count} signature did not pass", "{count} signatures did not pass", failed).format(
                count=failed
            )
    elif outcome.outcome == BatchOutcomeKind.DUPLICATE and entry is not None:
        line = _("{file}: duplicate: already processed on {when} as {name} ({outcome})").format(
            file=outcome.file,
            when=for_people(entry.processed_at, zone),
            name=entry.file_name,
            outcome=outcome_word(entry.outcome),
        ) + (f": {entry.reason}" if entry.reason else "")
    else:
        line = f"{outcome.file}: {outcome_word(outcome.outcome)}: {outcome.reason}"
    click.echo(for_terminal(line))
    if entry is not None:
        for rejected in entry.first_rejected:
            click.echo(for_terminal(f"  {rejected.item}: {rejected.reason}"))
        if entry.rejected_items > len(entry.first_rejected):
            more = entry.rejected_items - len(entry.first_rejected)
            more_text = ngettext("… and {count} more refused item", "… and {count} more refused items", more)
            more_text = more_text.format(count=more) + " " + _("(every one: docflow sql, table rejected_items)")
            click.echo(f"  {more_text}")
