"""``docflow ingest``: a thin click command over ``docflow.ingest``, and what ``docflow watch`` shares with it.

Both take batches through the same ``ingest_batch``; only the watcher (``docflow.cli.watch``) moves files,
and only inside its own inbox.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from docflow.cli.ingest_view import EXIT_CODES_HELP, IngestExit, judge, print_outcome
from docflow.cli.options import config_option, current_config
from docflow.cli.store_location import location_option, payload_folder, store_target
from docflow.config import WatchConfig
from docflow.i18n import N_, _
from docflow.ingest.run import (
    BatchChanged,
    BatchOutcome,
    BatchOutcomeKind,
    IngestOptions,
    ProgressCallback,
    ingest_batch,
)
from docflow.reports.batches import store_marks
from docflow.safe_text import SafeLogFormatter, for_terminal, markup_safe
from docflow.store.core import Store, StoreBusy, StoreError
from docflow.times import for_people, people_zone
from signatures import SignerKind, TrustStore

__all__ = ["ingest"]

log = logging.getLogger("docflow")

_PROGRESS_AFTER_ITEMS = 200
"""Small batches finish before a bar would be readable; only larger ones get one."""


@dataclass(frozen=True)
class _Defaults:
    inbox: Path
    db: Path
    trust: Path
    options: IngestOptions
    watch: WatchConfig
    zone: tzinfo
    """Where times are shown to people (``[display] timezone``)."""


def _defaults() -> _Defaults:
    config = current_config()
    return _Defaults(
        inbox=Path(config.inbox_path),
        db=Path(config.db_path),
        trust=Path(config.trust_path),
        options=IngestOptions(
            limits=config.limits,
            columns=config.register_columns or None,
            kinds={sha256: SignerKind(kind) for sha256, kind in config.kind_overrides.items()},
        ),
        watch=config.watch,
        zone=config.display.zone,
    )


_WORKERS_OPTION = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes verifying signatures (default: the number of CPUs; 1: no worker processes).",
)


def _with_workers(options: IngestOptions, workers: int | None) -> IngestOptions:
    return dataclasses.replace(options, workers=workers or os.cpu_count() or 1)


class TrustRefused(click.ClickException):
    """No usable trust store and no ``--no-trust``: one line saying what to do, exit 2 (as for a wrong option)."""

    exit_code = 2


_TRUST_CHOICES = N_(
    "give --trust DIR, set trust in [paths] of docflow.toml, or pass --no-trust to store every signature "
    "as not verified against any trust anchor"
)


def _load_trust(directory: Path, no_trust: bool, choices: str = _TRUST_CHOICES) -> TrustStore | None:
    """The trust store ingestion judges against; None with ``--no-trust`` (every row is then marked so).

    Without one every signature would be stored as untrusted for good: a forgotten ``--trust`` must stop the
    run, not quietly fill the store with wrong verdicts. ``choices``: what a refusal tells the user to do.
    """
    choices = _(choices)
    if no_trust:
        log.warning(_("--no-trust: signatures are stored as not verified against any trust anchor"))
        return None
    shown = for_terminal(str(directory))  # a path from the command line or the toml, printed as text
    if not directory.is_dir():
        raise TrustRefused(_("no trust directory at {path}: {choices}").format(path=shown, choices=choices))
    try:
        with os.scandir(directory) as entries:
            empty = next(entries, None) is None
    except OSError as error:
        why = error.strerror or error
        raise TrustRefused(
            _("cannot read the trust directory {path} ({why}): {choices}").format(path=shown, why=why, choices=choices)
        ) from error
    if empty:
        raise TrustRefused(_("the trust directory {path} is empty: {choices}").format(path=shown, choices=choices))
    trust = TrustStore.load(directory)
    for problem in trust.problems:  # verdicts that needed such a file say so too; this names it once, up front
        log.warning(_("trust store: %s"), problem)
    if not trust.anchors:
        raise TrustRefused(
            _("the trust directory {path} holds no trust anchor (a self-signed root certificate): {choices}").format(
                path=shown, choices=choices
            )
        )
    return trust


def _trust_directory(trust: Path | None, no_trust: bool, defaults: _Defaults) -> Path:
    if trust is not None and no_trust:
        raise click.UsageError(_("--trust and --no-trust contradict each other: give one of them"))
    return trust or defaults.trust


@contextmanager
def _start_up_frozen() -> Iterator[None]:
    """While batches are ingested, what was loaded before (modules, configuration, trust store) is frozen.

    ``gc.freeze`` moves it out of the cyclic collector's reach: full collections stop rescanning it, and the
    forked verification workers stop copying the memory pages those scans touch. ``docflow ingest`` of
    2,000 packages: 2.5–4 % faster (19 of 24 alternating runs; docs/performance.md). Nothing collectable was
    found at this point in measurements; unfreezing at the end keeps it that way when the commands run
    inside another process (tests).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _setup_logging(console: Console, zone: tzinfo | None = None) -> None:
    """Log lines stamped ``dd/mm/yyyy HH:MM:SS +07`` in the people's zone (``docflow.times``), whatever the
    machine's locale: the stamp beside a time in the message is then read the same way."""

    def stamp(moment: datetime) -> Text:
        # rich gives the record's time as a naive local datetime: astimezone() makes it the moment it is.
        aware = moment.astimezone()
        shown = aware.astimezone(zone or people_zone())
        return Text(f"[{for_people(aware, zone)} {shown.strftime('%z')[:3]}]")

    handler = RichHandler(console=console, show_path=False, markup=False, rich_tracebacks=False, log_time_format=stamp)
    handler.setFormatter(SafeLogFormatter())  # batch and file names in messages come from outside
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[handler], force=True)


@contextmanager
def _rich_progress(console: Console, name: str) -> Iterator[ProgressCallback]:
    """A progress callback that shows a bar once a batch proves large."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn(_("{task.completed} items")),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task(markup_safe(name), total=None)  # a batch name is the sender's

    def report(items: int) -> None:
        if items >= _PROGRESS_AFTER_ITEMS and not progress.live.is_started:
            progress.start()
        progress.update(task, completed=items)

    try:
        yield report
    finally:
        if progress.live.is_started:
            progress.stop()


_DB_OPTION = location_option
_TRUST_OPTION = click.option(
    "--trust",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Trust directory: anchors, intermediates, CRLs (default: [paths] trust). Required unless --no-trust.",
)
_NO_TRUST_OPTION = click.option(
    "--no-trust",
    is_flag=True,
    help="Store signatures without a trust store, marked as not verified against any trust anchor.",
)


@click.command(epilog=f"{EXIT_CODES_HELP}\n\nExample: docflow ingest so-di-thang-10.zip --trust trust")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@config_option
@_DB_OPTION
@_TRUST_OPTION
@_NO_TRUST_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object per batch per line.")
@click.option("--rebuild-counters", is_flag=True, help="Repair: rebuild the unit counters from the documents.")
@_WORKERS_OPTION
def ingest(
    paths: tuple[Path, ...],
    db: str | None,
    trust: Path | None,
    no_trust: bool,
    as_json: bool,
    rebuild_counters: bool,
    workers: int | None,
) -> None:
    """Ingest batches (files or folders) once; files are read, never moved."""
    if not paths and not rebuild_counters:
        raise click.UsageError(_("give at least one batch file or folder"))
    console = Console(stderr=True)
    defaults = _defaults()
    _setup_logging(console, defaults.zone)
    options = _with_workers(defaults.options, workers)
    directory = _trust_directory(trust, no_trust, defaults)
    # Before the store is opened: a refused run leaves no store behind.
    trust_store = _load_trust(directory, no_trust) if paths else None
    worst = IngestExit.ACCEPTED
    target = store_target(db)
    with Store.open(target, payloads=payload_folder(target)) as store:
        if rebuild_counters:
            store.recompute_counters()
            console.print(_("Counters rebuilt from the documents."), highlight=False)
        with _start_up_frozen():
            for path in paths:
                before = store_marks(store.conn)
                judged = judge(store, _ingest_one(path, store, trust_store, options, console), before)
                worst = max(worst, judged.exit_code)
                print_outcome(judged, as_json, defaults.zone)
    raise SystemExit(int(worst))


def _ingest_one(
    path: Path, store: Store, trust: TrustStore | None, options: IngestOptions, console: Console
) -> BatchOutcome:
    if not path.exists():
        return BatchOutcome(path.name, "", BatchOutcomeKind.REJECTED, reason=f"no such file or folder: {path}")
    try:
        with _rich_progress(console, path.name) as progress:
            return ingest_batch(path, store, trust, options, progress=progress)
    except BatchChanged as changed:
        return BatchOutcome(path.name, "", BatchOutcomeKind.REJECTED, reason=changed.reason)
    except StoreBusy as busy:
        # Not the batch's fault: nothing of it was stored, and it can simply be given again.
        return BatchOutcome(path.name, "", BatchOutcomeKind.BUSY, reason=str(busy))
    except StoreError:
        raise  # the store itself cannot be used: stop here (docflow.cli says why, exit 2)
    except Exception as error:  # noqa: BLE001 - report it as this batch's outcome, carry on with the rest
        log.exception(_("%s: docflow failed on this batch"), path.name)
        reason = f"docflow failed on this batch: {error!r}"
        return BatchOutcome(path.name, "", BatchOutcomeKind.REJECTED, reason=reason)
