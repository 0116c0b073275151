"""``docflow demo``: build a demo province, ingest it the way the watcher does, summarise it.

The province lives through the 2025 reorganisation (``samples.reorganisation``): its unit list, with
life spans and successors, is imported by the same code as ``docflow units import``.

The batches go through ``docflow.watch.watcher.Watcher`` with ``once`` semantics, the same code
path as ``docflow watch --once`` on a real inbox, so the demo exercises what a province
would run, not a shortcut.
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from docflow.i18n import _
from docflow.ingest.outcome import BatchOutcomeKind
from docflow.ingest.run import ProgressCallback
from docflow.reports.certs import import_issued
from docflow.reports.metrics import SummarySettings, latest_year
from docflow.reports.summary import Summary, summarise
from docflow.reports.units import import_units
from docflow.safe_text import for_terminal
from docflow.store.core import Store
from docflow.watch.watcher import Watcher, WatchReport, WatchSettings
from samples.province import ProvinceBuild
from samples.reorganisation import build_reorganised
from signatures import TrustStore

__all__ = ["DemoError", "DemoResult", "run_demo", "ingest_inbox", "next_steps", "kept_lines", "opening_line"]


class DemoError(Exception):
    """The demo could not show a summary; the message says why."""


@dataclass(frozen=True)
class DemoResult:
    summary: Summary
    build: ProvinceBuild
    report: WatchReport
    kept_at: Path | None
    """Where the files and store are, when kept; None when the temporary folder was removed."""


def opening_line(result: DemoResult) -> str:
    """What was built and how much of it the watcher took, printed above the summary."""
    outcomes = Counter(outcome.outcome for outcome in result.report.outcomes)
    return _(
        "Demo province: {units} units, {documents} documents in {batches} batches; {ingested} batches ingested, "
        "{rejected} rejected."
    ).format(
        units=result.build.units,
        documents=result.build.documents,
        batches=result.build.batches,
        ingested=outcomes[BatchOutcomeKind.INGESTED],
        rejected=outcomes[BatchOutcomeKind.REJECTED],
    )


@contextmanager
def _batch_progress(progress: Progress, overall: TaskID, name: str) -> Iterator[ProgressCallback]:
    progress.update(overall, description=_("Ingesting {name}").format(name=name))
    yield lambda _items: progress.refresh()
    progress.advance(overall)


def ingest_inbox(build: ProvinceBuild, db: Path, console: Console) -> WatchReport:
    """Every batch of the inbox, through the watcher, with a progress bar over batches."""
    settings = WatchSettings(inbox=build.inbox, db=db, settle_seconds=0.0, poll_interval=0.05)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        overall = progress.add_task(_("Ingesting the data"), total=build.batches)
        watcher = Watcher(
            settings,
            TrustStore.load(build.trust_dir),
            progress=lambda name: _batch_progress(progress, overall, name),
        )
        return watcher.run(once=True)


def run_demo(
    console: Console,
    *,
    scale: float,
    out: Path | None = None,
    keep: bool = False,
    settings: SummarySettings = SummarySettings(),
) -> DemoResult:
    """Build, import the unit and certificate lists, ingest, summarise; clean up unless kept."""
    if out is not None and out.exists() and any(out.iterdir()):
        # A second province on top of the first would merge into its store: refuse rather than muddle.
        raise DemoError(_("{path} is not empty: give --out a new or empty folder").format(path=out))
    root = out or Path(tempfile.mkdtemp(prefix="docflow-demo-"))
    try:
        with console.status(_("Making the demo province's data…")):
            build = build_reorganised(root / "province", scale=scale)
        db = root / "docflow.db"
        with Store.open(db) as store:
            import_units(store.conn, build.units_file)
            import_issued(store.conn, build.issued_file)
        report = ingest_inbox(build, db, console)
        with Store.open(db) as store:
            period = latest_year(store.conn)
            if period is None:
                where = build.inbox / "rejected"
                raise DemoError(_("no batch of the demo province was ingested; see {path}").format(path=where))
            summary = summarise(store.conn, period, settings, period_is_default=True)
    finally:
        if out is None and not keep:
            shutil.rmtree(root, ignore_errors=True)
    return DemoResult(summary, build, report, root if (out is not None or keep) else None)


def next_steps(db: Path, commands: Collection[str]) -> tuple[str, ...]:
    """The command lines that go on with a kept demo store; ``commands``: those this docflow has."""
    store = shlex.quote(str(db))
    with Store.open(db) as opened:
        # A document with a signature that did not pass: its trail is the one worth reading first.
        row = opened.conn.execute(
            "SELECT document_id FROM signatures WHERE document_id IS NOT NULL "
            "ORDER BY indication = 'TOTAL_PASSED', id LIMIT 1"
        ).fetchone()
    lines = [
        f"docflow summary --db {store}",
        # The province before and after the 2025 reorganisation, each in the structure of its time.
        f"docflow summary --period 2025-Q2 --as-issued --db {store}",
        f"docflow summary --period 2026-Q3 --db {store}",
        f"docflow summary --behind --db {store}",
    ]
    if row is not None:
        lines.append(f"docflow audit {shlex.quote(row[0])} --db {store}")
    if "report" in commands:
        lines.append(f"docflow report --db {store} --out {shlex.quote(str(db.with_name('bao-cao.html')))}")
    lines.append(f"docflow batches --problems --db {store}")
    return tuple(lines)


def kept_lines(root: Path) -> tuple[str, ...]:
    """What ``docflow demo --keep`` (or ``--out``) prints last: where the files are, and how to go on."""
    from docflow.cli import _COMMAND_MODULES  # the commands this docflow has: a line for each one there is

    steps = next_steps(root / "docflow.db", _COMMAND_MODULES)
    # Paths come from the command line or the temporary folder: shown as text, never as markup.
    return (
        for_terminal(_("Demo files and store kept in {path}").format(path=root)),
        _("To go on with them:"),
        *(f"  {for_terminal(step)}" for step in steps),
    )
