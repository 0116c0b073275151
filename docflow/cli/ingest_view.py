"""What ``docflow ingest`` says about each batch, and the exit code the run ends with.

0: every item of every batch was accepted; 1: some items were refused or some signatures did not pass;
2: a batch was refused whole (or not taken: the store was busy). Several batches: the worst. A batch given
again (a duplicate) is judged by what the store holds of it, so the same file always gets the same answer.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import tzinfo

import click

from docflow.ingest.outcome import BatchOutcome, BatchOutcomeKind
from docflow.reports.batches import BatchEntry, StoreMarks, batch_entry
from docflow.safe_text import for_terminal
from docflow.store.core import Store
from docflow.times import for_people

__all__ = ["IngestExit", "EXIT_CODES_HELP", "Judged", "judge", "print_outcome"]


class IngestExit(enum.IntEnum):
    """``docflow ingest``'s exit code; a larger one is worse."""

    ACCEPTED = 0
    SOME_REFUSED = 1
    BATCH_REFUSED = 2


EXIT_CODES_HELP = (
    "Exit code: 0 when every item was accepted; 1 when some items were refused or some signatures did not "
    "pass; 2 when a batch was refused whole or not taken (several batches: the worst)."
)


@dataclass(frozen=True)
class Judged:
    """One batch's outcome with what the store holds of it (None when nothing was recorded)."""

    outcome: BatchOutcome
    entry: BatchEntry | None

    @property
    def exit_code(self) -> IngestExit:
        if self.outcome.outcome in (BatchOutcomeKind.REJECTED, BatchOutcomeKind.BUSY):
            return IngestExit.BATCH_REFUSED
        if self.entry is None:
            return IngestExit.ACCEPTED
        if self.entry.outcome == BatchOutcomeKind.REJECTED:
            return IngestExit.BATCH_REFUSED
        return IngestExit.SOME_REFUSED if self.entry.has_problems else IngestExit.ACCEPTED


def judge(store: Store, outcome: BatchOutcome, before: StoreMarks) -> Judged:
    """``outcome`` with the store's record of its batch; ``before``: the store's marks before it was read."""
    if outcome.outcome == BatchOutcomeKind.INGESTED:
        return Judged(outcome, batch_entry(store.conn, outcome.sha256, before))
    if outcome.outcome == BatchOutcomeKind.DUPLICATE:
        return Judged(outcome, batch_entry(store.conn, outcome.sha256))
    return Judged(outcome, None)


def print_outcome(judged: Judged, as_json: bool, zone: tzinfo | None) -> None:
    """One JSON line (as before issue 17), or a line for people with the first refused items under it."""
    outcome, entry = judged.outcome, judged.entry
    if as_json:
        click.echo(json.dumps(outcome.to_json(), ensure_ascii=False))
        return
    if outcome.outcome == BatchOutcomeKind.INGESTED:
        line = (
            f"{outcome.file}: ingested {outcome.documents} documents, {outcome.signatures} "
            f"signatures, {outcome.rejected_items} rejected items"
        )
        if entry is not None and entry.signatures_not_passed:
            line += f"; {entry.signatures_not_passed} signatures did not pass"
    elif outcome.outcome == BatchOutcomeKind.DUPLICATE and entry is not None:
        line = f"{outcome.file}: duplicate: already processed on {for_people(entry.processed_at, zone)}"
        line += f" as {entry.file_name} ({entry.outcome})" + (f": {entry.reason}" if entry.reason else "")
    else:
        line = f"{outcome.file}: {outcome.outcome}: {outcome.reason}"
    click.echo(for_terminal(line))
    if entry is not None:
        for rejected in entry.first_rejected:
            click.echo(for_terminal(f"  {rejected.item}: {rejected.reason}"))
        if entry.rejected_items > len(entry.first_rejected):
            more = entry.rejected_items - len(entry.first_rejected)
            click.echo(f"  … and {more} more refused items (every one: docflow sql, table rejected_items)")
