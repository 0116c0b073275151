"""The inbox watcher: take each settled batch exactly once, then file it away.

How files arrive (watchdog's native or polling observer) only feeds a queue of
top-level inbox names; what a batch is and what happens to it is decided here, in one
thread, one batch at a time. The store commit comes first and the move second, so a
kill between the two leaves a file whose hash is already known: on restart it is
simply filed as a duplicate, never counted again. Where it is filed is ``docflow.watch.filing``;
when a failed batch is tried again, ``docflow.watch.retry``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from docflow.ingest.run import BatchOutcome, BatchOutcomeKind, IngestOptions, ProgressCallback, ingest_batch
from docflow.readers.archive import is_temporary
from docflow.readers.identity import BatchChanged, refusal
from docflow.readers.names import readable_name
from docflow.store.core import Store, StoreBusy, StoreReplaced
from docflow.watch.filing import Filing
from docflow.watch.retry import Attempts, RetryPolicy, is_the_machines_fault, summary
from signatures import TrustStore

__all__ = ["WatchSettings", "Watcher", "WatchReport", "WatchAborted", "ProgressFactory"]

log = logging.getLogger(__name__)

ProgressFactory = Callable[[str], AbstractContextManager[ProgressCallback]]
"""Given a batch name, a context giving the progress callback for that batch (e.g. a rich bar)."""


@dataclass(frozen=True)
class WatchSettings:
    inbox: Path
    db: Path
    archive: Path | None = None
    """Where ingested batches go; default ``INBOX/archive``."""
    rejected: Path | None = None
    """Where unreadable batches go; default ``INBOX/rejected``."""
    settle_seconds: float = 2.0
    poll_interval: float = 1.0
    polling: bool = False
    max_attempts: int = 3
    """Failures (docflow bugs, not bad batches) before a batch is quarantined in rejected/."""
    retry_seconds: float = 5.0
    """First retry delay after a failure; doubles each time."""
    max_retry_seconds: float = 300.0
    """Longest wait between retries while the machine itself is at fault (disk full, archive unwritable)."""

    @property
    def archive_dir(self) -> Path:
        return self.archive or self.inbox / "archive"

    @property
    def rejected_dir(self) -> Path:
        return self.rejected or self.inbox / "rejected"


@dataclass
class WatchReport:
    """Every batch outcome of one run, in order (quarantined batches as ``rejected``)."""

    outcomes: list[BatchOutcome] = field(default_factory=list)


@dataclass
class _Pending:
    signature: tuple[tuple[str, int, int], ...] | None = None
    stable_since: float = 0.0
    first_seen: datetime = field(default_factory=lambda: datetime.now(UTC))
    attempts: Attempts = field(default_factory=Attempts)
    committed: BatchOutcome | None = None
    """The outcome once the store has committed it, while filing it away still fails."""


class WatchAborted(Exception):
    """``--once`` gave up: the machine keeps failing (e.g. ``archive/`` cannot be made); ``str()`` says why."""


class _Stopped(Exception):
    """Raised from the progress callback to roll back the current batch on SIGINT/SIGTERM."""


class _InboxHandler(FileSystemEventHandler):
    def __init__(self, candidates: queue.Queue[str], inbox: Path) -> None:
        self._candidates = candidates
        self._inbox = inbox

    def on_any_event(self, event: FileSystemEvent) -> None:
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            name = _top_level_name(self._inbox, os.fsdecode(raw)) if raw else None
            if name:
                self._candidates.put(name)


class Watcher:
    """Watches one inbox; ``run`` until ``stop`` (or until the inbox is done, with ``once``)."""

    def __init__(
        self,
        settings: WatchSettings,
        trust: TrustStore | None,
        options: IngestOptions | None = None,
        progress: ProgressFactory | None = None,
    ) -> None:
        self.settings = settings
        self._trust = trust
        self._options = options or IngestOptions()
        self._progress = progress
        self._candidates: queue.Queue[str] = queue.Queue()
        self._pending: dict[str, _Pending] = {}
        self._stop = threading.Event()
        self._once = False
        self._own_dirs = {settings.archive_dir.resolve(), settings.rejected_dir.resolve()}
        self._filing = Filing(settings.inbox, settings.archive_dir, settings.rejected_dir)
        self._retry = RetryPolicy(settings.max_attempts, settings.retry_seconds, settings.max_retry_seconds)

    def stop(self) -> None:
        """Ask the watcher to stop after (or by rolling back) the current batch."""
        self._stop.set()
        self._candidates.put("")  # wake the loop

    def run(self, once: bool = False) -> WatchReport:
        self.settings.inbox.mkdir(parents=True, exist_ok=True)
        self._filing.empty_trash()
        report = WatchReport()
        self._once = once
        observer = None if once else self._start_observer()
        try:
            with Store.open(self.settings.db) as store:
                self._scan()
                while not self._stop.is_set():
                    if once and not self._pending:
                        break
                    self._wait_for_candidates()
                    self._process_settled(store, report)
        finally:
            if observer is not None:
                observer.stop()
                observer.join(timeout=10)
        return report

    # -- how files arrive ------------------------------------------------------------

    def _start_observer(self) -> BaseObserver:
        handler = _InboxHandler(self._candidates, self.settings.inbox)
        if self.settings.polling:
            observer: BaseObserver = PollingObserver(timeout=self.settings.poll_interval)
        else:
            observer = Observer()
        # Not recursive: a folder batch is announced by its top-level entry; the settle
        # check then watches its contents itself.
        observer.schedule(handler, str(self.settings.inbox), recursive=False)
        observer.start()
        return observer

    def _scan(self) -> None:
        for entry in sorted(self.settings.inbox.iterdir()):
            self._consider(entry.name)

    def _consider(self, name: str) -> None:
        if name and name not in self._pending and self._is_candidate(self.settings.inbox / name):
            self._pending[name] = _Pending()

    def _wait_for_candidates(self) -> None:
        tick = max(0.05, min(self.settings.settle_seconds / 3, self.settings.poll_interval))
        try:
            names = [self._candidates.get(timeout=tick)]
        except queue.Empty:
            return
        while True:
            try:
                names.append(self._candidates.get_nowait())
            except queue.Empty:
                break
        for name in names:
            self._consider(name)

    def _is_candidate(self, path: Path) -> bool:
        # lexists: a link, a pipe or a device is a candidate too, to be refused with a reason.
        if is_temporary(path.name) or not os.path.lexists(path):
            return False
        return Path(os.path.realpath(path)) not in self._own_dirs

    # -- what a batch is -------------------------------------------------------------

    def _process_settled(self, store: Store, report: WatchReport) -> None:
        now = time.monotonic()
        for name in sorted(self._pending):
            if self._stop.is_set():
                return
            path = self.settings.inbox / name
            pending = self._pending[name]
            signature = _settle_signature(path)
            if signature is None:
                del self._pending[name]  # gone (moved away by a clerk)
                continue
            if signature != pending.signature:
                pending.signature, pending.stable_since = signature, now
                continue
            if now - pending.stable_since < self.settings.settle_seconds or now < pending.attempts.next_try:
                continue
            outcome = self._take(store, path, pending)
            if outcome is not None:
                report.outcomes.append(outcome)
                del self._pending[name]

    def _take(self, store: Store, path: Path, pending: _Pending) -> BatchOutcome | None:
        """Ingest and file one batch; None when it stays in the inbox for a retry."""
        store.check_unchanged()  # StoreReplaced ends the run: nothing may be filed against a lost store
        outcome = pending.committed
        refused = refusal(path) if outcome is None else None
        if refused is not None:
            outcome = BatchOutcome(path.name, "", BatchOutcomeKind.REJECTED, reason=refused)
            _log_outcome(outcome)
        elif outcome is None:
            try:
                with self._progress_for(path.name) as progress:
                    outcome = ingest_batch(
                        path,
                        store,
                        self._trust,
                        self._options,
                        attempts=1,
                        progress=self._stoppable(progress),
                        received_at=pending.first_seen,
                    )
            except _Stopped:
                log.info("%s: stopped before it was committed; it stays in the inbox", readable_name(path.name))
                return None
            except BatchChanged as changed:
                log.info(
                    "%s: %s; nothing was stored, it is read again once it settles",
                    readable_name(path.name),
                    changed.reason,
                )
                pending.signature = None
                return None
            except StoreReplaced:
                raise
            except Exception as error:  # noqa: BLE001 - a bug must not lose the batch
                return self._failed(path, pending, error)
            if not outcome.sha256:
                return self._failed(path, pending, OSError(outcome.reason))
            _log_outcome(outcome)
        try:
            self._filing.file_away(path, outcome)
        except OSError as error:
            # Committed already: retrying only the move, never the ingest, keeps it counted once.
            pending.committed = outcome
            self._wait_for_the_machine(path, pending, error, f"it is stored but cannot be filed away ({error})")
            return None
        return outcome

    def _progress_for(self, name: str) -> AbstractContextManager[ProgressCallback | None]:
        return self._progress(name) if self._progress else nullcontext(None)

    def _stoppable(self, progress: ProgressCallback | None) -> ProgressCallback:
        def report(items: int) -> None:
            if self._stop.is_set():
                raise _Stopped
            if progress is not None:
                progress(items)

        return report

    def _failed(self, path: Path, pending: _Pending, error: BaseException) -> BatchOutcome | None:
        if is_the_machines_fault(error):
            self._wait_for_the_machine(path, pending, error, "nothing was stored")
            return None
        name = readable_name(path.name)
        delay = self._retry.after_failure(pending.attempts)
        if delay is not None:
            log.error("%s: failed (%s); retrying in %.0f s", name, summary(error), delay, exc_info=error)
            return None
        reason = f"docflow failed {pending.attempts.failures} times on this batch: {summary(error)}"
        outcome = BatchOutcome(name, "", BatchOutcomeKind.REJECTED, reason=reason)
        try:
            self._filing.quarantine(path, outcome, traceback.format_exception(error)[-6:])
        except OSError as move_error:
            # Give up on it for this run (a restart retries); looping on it would stall the inbox.
            log.error("%s: cannot quarantine it (%s); it stays in the inbox", name, move_error)
            return dataclasses.replace(outcome, reason=f"{reason}; left in the inbox: {move_error}")
        log.error("%s: quarantined in %s: %s", name, self.settings.rejected_dir, reason)
        return outcome

    def _wait_for_the_machine(self, path: Path, pending: _Pending, error: BaseException, state: str) -> None:
        delay = self._retry.after_machine_failure(pending.attempts)
        name = readable_name(path.name)
        if self._once:
            # --once is a run that must end: say why and stop, rather than retry for ever.
            raise WatchAborted(f"{name}: {state}: {summary(error)}; it stays in the inbox. Fix the cause and run again")
        if isinstance(error, StoreBusy):
            log.warning(
                "%s: the store is busy (another docflow is writing); it stays in the inbox, retrying in %.0f s",
                name,
                delay,
            )
            return
        log.error(
            "%s: the machine is failing (%s); %s; it stays in the inbox, retrying in %.0f s",
            name,
            summary(error),
            state,
            delay,
        )


def _top_level_name(inbox: Path, raw_path: str) -> str | None:
    try:
        relative = Path(raw_path).relative_to(inbox)
    except ValueError:
        return None
    return relative.parts[0] if relative.parts else None


def _settle_signature(path: Path) -> tuple[tuple[str, int, int], ...] | None:
    """Size and mtime of the file, or of every file in the folder; None when it is gone."""
    try:
        # lstat: a link is never followed (it may point at a pipe, or nowhere).
        if path.is_symlink() or not path.is_dir():
            stat = path.lstat()
            return (("", stat.st_size, stat.st_mtime_ns),)
        entries: list[tuple[str, int, int]] = []
        for file_path in sorted(_walk(path)):
            try:
                stat = file_path.lstat()
            except FileNotFoundError:
                continue  # deleted while listed: a change like any other, not the batch gone
            entries.append((file_path.relative_to(path).as_posix(), stat.st_size, stat.st_mtime_ns))
        stat = path.stat()
        return (("", 0, stat.st_mtime_ns), *entries)
    except FileNotFoundError:
        return None


def _walk(folder: Path) -> Iterator[Path]:
    for root, _dirs, names in os.walk(folder):
        for name in names:
            yield Path(root, name)


def _log_outcome(outcome: BatchOutcome) -> None:
    if outcome.outcome == BatchOutcomeKind.INGESTED:
        log.info(
            "%s: ingested %d documents, %d signatures, %d rejected items",
            outcome.file,
            outcome.documents,
            outcome.signatures,
            outcome.rejected_items,
        )
    else:
        log.info("%s: %s: %s", outcome.file, outcome.outcome, outcome.reason)
