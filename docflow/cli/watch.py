"""``docflow watch``: the inbox watcher as a command; refuses with exit 2 what it cannot watch.

A folder that does not exist is a typo until the operator says otherwise (``--create``): nothing is made,
no store either. A second watcher on the same inbox or store meets the first one's lock and says so.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click
from rich.console import Console

from docflow.cli.ingest import (
    _DB_OPTION,
    _NO_TRUST_OPTION,
    _TRUST_OPTION,
    _WORKERS_OPTION,
    _defaults,
    _load_trust,
    _rich_progress,
    _setup_logging,
    _start_up_frozen,
    _trust_directory,
    _with_workers,
)
from docflow.cli.options import config_option
from docflow.cli.store_location import payload_folder, store_target
from docflow.i18n import _, ngettext
from docflow.safe_text import for_terminal

__all__ = ["watch", "WatchRefused"]

log = logging.getLogger("docflow")


class WatchRefused(click.ClickException):
    """The inbox cannot be watched (missing, not a folder, watched already): one line, exit 2."""

    exit_code = 2


@contextmanager
def _handling(stop: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """SIGINT and SIGTERM call ``stop`` while the watcher runs, and are given back after it: a process running the
    command in-process (a test, a script, ``docflow demo``) keeps its own Ctrl-C."""
    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _inbox_ready(inbox: Path, create: bool) -> None:
    shown = for_terminal(str(inbox))
    if inbox.is_dir():
        return
    if inbox.exists() or inbox.is_symlink():
        raise WatchRefused(
            _("the inbox {path} is not a folder: give the folder clerks drop batches into").format(path=shown)
        )
    if not create:
        raise WatchRefused(
            _(
                "there is no inbox folder at {path}: check the path, or give --create to make it (nothing was made)"
            ).format(path=shown)
        )
    try:
        inbox.mkdir(parents=True)
    except OSError as error:
        why = error.strerror or error
        raise WatchRefused(_("cannot make the inbox folder {path}: {why}").format(path=shown, why=why)) from error


@click.command(epilog="Example: docflow watch /srv/docflow/inbox --trust /srv/docflow/trust")
@click.argument("inbox", required=False, type=click.Path(path_type=Path, file_okay=False))
@config_option
@_DB_OPTION
@_TRUST_OPTION
@_NO_TRUST_OPTION
@click.option("--polling", is_flag=True, help="Poll the folder (network shares, where change events never arrive).")
@click.option("--once", is_flag=True, help="Process what is in the inbox now, then exit.")
@click.option("--create", is_flag=True, help="Make the inbox folder when it does not exist yet.")
@_WORKERS_OPTION
def watch(
    inbox: Path | None,
    db: str | None,
    trust: Path | None,
    no_trust: bool,
    polling: bool,
    once: bool,
    create: bool,
    workers: int | None,
) -> None:
    """Watch the inbox: ingest each batch once, then move it to archive/ (or rejected/) with its receipt."""
    from docflow.watch.lock import LockHeld  # here: docflow ingest need not load watchdog
    from docflow.watch.observers import ObserverChoice
    from docflow.watch.watcher import WatchAborted, Watcher, WatchSettings

    console = Console(stderr=True)
    defaults = _defaults()
    _setup_logging(console, defaults.zone)
    folder = inbox or defaults.inbox
    _inbox_ready(folder, create)  # before the trust store and the store: a refused run makes nothing
    trust_dir = _trust_directory(trust, no_trust, defaults)
    trust_store = _load_trust(trust_dir, no_trust)
    config = defaults.watch
    target = store_target(db)
    settings = WatchSettings(
        inbox=folder,
        db=target,
        payloads=payload_folder(target),
        settle_seconds=config.settle_seconds,
        grace_seconds=config.grace_seconds,
        rescan_seconds=config.rescan_seconds,
        poll_interval=config.poll_interval,
        polling=polling,
        observer=ObserverChoice(config.observer),
        log_file=config.log_file,
        zone=defaults.zone,
        trust_dir=trust_dir if trust_store is not None else None,
    )
    watcher = Watcher(
        settings,
        trust_store,
        _with_workers(defaults.options, workers),
        progress=lambda name: _rich_progress(console, name),
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info(_("%s received: stopping after the current batch"), signal.Signals(signum).name)
        watcher.stop()

    log.info(_("watching %s"), settings.inbox)
    with _start_up_frozen(), _handling(stop):
        try:
            report = watcher.run(once=once)
        except LockHeld as held:
            raise WatchRefused(str(held)) from held
        except WatchAborted as aborted:
            raise click.ClickException(str(aborted)) from aborted
    done = len(report.outcomes)
    log.info("%s", ngettext("stopped after {count} batch", "stopped after {count} batches", done).format(count=done))
