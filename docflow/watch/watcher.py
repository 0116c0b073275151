"""The inbox watcher: take each settled batch exactly once, then file it away.

How files arrive (watchdog's native or polling observer) only feeds a queue of
top-level inbox names; what a batch is and what happens to it is decided here, in one
thread, one batch at a time. The store commit comes first and the move second, so a
kill between the two leaves a file whose hash is already known: on restart it is
simply filed as a duplicate, never counted again. Where it is filed is ``docflow.watch.filing``,
with its receipt (``docflow.watch.receipt``); when a batch is complete, ``docflow.watch.arrival``;
when a failed batch is tried again, ``docflow.watch.retry``. One watcher per inbox and per store
(``docflow.watch.lock``). When the trust directory changes, the stored signatures are judged again between
batches (``docflow.watch.trust_watch``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from docflow.i18n import _, ngettext
from docflow.ingest.outcome import outcome_word
from docflow.ingest.run import BatchOutcome, BatchOutcomeKind, IngestOptions, ProgressCallback, ingest_batch
from docflow.readers.archive import is_temporary
from docflow.readers.identity import BatchChanged, refusal
from docflow.readers.names import readable_name
from docflow.store.core import Store, StoreBusy, StoreReplaced
from docflow.store.location import is_server_url
from docflow.watch.arrival import Pending, Readiness, Timing, readiness
from docflow.watch.completeness import DONE_SUFFIX, is_done_marker, marked_batch
from docflow.watch.events import EventLog
from docflow.watch.filing import WHAT_TO_DO_FAILED, WHAT_TO_DO_REFUSED, WHAT_TO_DO_UNREADABLE, Filing
from docflow.watch.lock import INBOX_LOCK_NAME, FolderLock, store_lock_path
from docflow.watch.observers import ObserverChoice, uses_polling
from docflow.watch.receipt import Receipt, belongs_in_rejected, receipt_for
from docflow.watch.retry import RetryPolicy, is_the_machines_fault, summary
from docflow.watch.trust_watch import TrustWatch
from signatures import TrustStore

__all__ = ["WatchSettings", "Watcher", "WatchReport", "WatchAborted", "ProgressFactory"]

log = logging.getLogger(__name__)

ProgressFactory = Callable[[str], AbstractContextManager[ProgressCallback]]
"""Given a batch name, a context giving the progress callback for that batch (e.g. a rich bar)."""


@dataclass(frozen=True)
class WatchSettings:
    inbox: Path
    db: Path | str
    """The store: an SQLite file, or a PostgreSQL URL (several watchers may write into one PostgreSQL store)."""
    payloads: Path | None = None
    """Where a PostgreSQL store keeps signed files (``Store.open``); an SQLite store keeps them beside its file."""
    archive: Path | None = None
    """Where ingested batches go; default ``INBOX/archive``."""
    rejected: Path | None = None
    """Where unreadable batches go; default ``INBOX/rejected``."""
    settle_seconds: float = 2.0
    """A batch must stay unchanged this long before it is read (not for one renamed or marked complete)."""
    grace_seconds: float = 60.0
    """A batch that reads as cut short waits until unchanged this long before it is judged."""
    rescan_seconds: float = 60.0
    """The whole inbox is listed again this often: events can be lost, the listing is the truth."""
    poll_interval: float = 1.0
    polling: bool = False
    """Force the polling observer (``--polling``); otherwise ``observer`` decides."""
    observer: ObserverChoice = ObserverChoice.AUTO
    log_file: Path | None = None
    """``[watch] log_file``: one JSON line per filed batch."""
    zone: tzinfo | None = None
    """``[display] timezone``: where receipts show times (None: Asia/Ho_Chi_Minh)."""
    max_attempts: int = 3
    """Failures (docflow bugs, not bad batches) before a batch is quarantined in rejected/."""
    retry_seconds: float = 5.0
    """First retry delay after a failure; doubles each time."""
    max_retry_seconds: float = 300.0
    """Longest wait between retries while the machine itself is at fault (disk full, archive unwritable)."""
    trust_dir: Path | None = None
    """The trust directory the trust store was loaded from: watched, and the store judged again when it changes."""
    reverify_part: int = 1000
    """Stored signatures judged again between two batches at most, after the trust directory changed."""

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


class WatchAborted(Exception):
    """``--once`` gave up: the machine keeps failing (e.g. ``archive/`` cannot be made); ``str()`` says why."""


class _Stopped(Exception):
    """Raised from the progress callback to roll back the current batch on SIGINT/SIGTERM."""


class _InboxHandler(FileSystemEventHandler):
    def __init__(self, candidates: queue.Queue[tuple[str, bool]], inbox: Path) -> None:
        self._candidates = candidates
        self._inbox = inbox

    def on_any_event(self, event: FileSystemEvent) -> None:
        source = _top_level_name(self._inbox, os.fsdecode(event.src_path)) if event.src_path else None
        raw_dest = getattr(event, "dest_path", "")
        dest = _top_level_name(self._inbox, os.fsdecode(raw_dest)) if raw_dest else None
        if source:
            self._candidates.put((source, False))
        if dest:
            # Renamed from a temporary name: the writer's way of saying the copy is complete.
            self._candidates.put((dest, source is not None and is_temporary(source) and dest != source))


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
        self._options = options or IngestOptions()
        self._progress = progress
        self._candidates: queue.Queue[tuple[str, bool]] = queue.Queue()
        self._pending: dict[str, Pending] = {}
        self._stop = threading.Event()
        self._once = False
        self._own_dirs = {settings.archive_dir.resolve(), settings.rejected_dir.resolve()}
        self._filing = Filing(settings.inbox, settings.archive_dir, settings.rejected_dir, settings.zone)
        self._retry = RetryPolicy(settings.max_attempts, settings.retry_seconds, settings.max_retry_seconds)
        self._events = EventLog(settings.log_file, settings.inbox)
        self._trust = TrustWatch(
            settings.trust_dir,
            trust,
            self._events,
            settle_seconds=settings.settle_seconds,
            check_seconds=settings.poll_interval,
            part_signatures=settings.reverify_part,
            retry_seconds=settings.retry_seconds,
            kinds=self._options.kinds,
            workers=self._options.workers,
        )
        self._next_rescan = 0.0

    def stop(self) -> None:
        """Ask the watcher to stop after (or by rolling back) the current batch."""
        self._stop.set()
        self._candidates.put(("", False))  # wake the loop

    def run(self, once: bool = False) -> WatchReport:
        """Raises ``LockHeld`` when another watcher has this inbox or this store."""
        self.settings.inbox.mkdir(parents=True, exist_ok=True)
        report = WatchReport()
        self._once, self._next_rescan = once, 0.0  # each run starts from a listing of the inbox
        with ExitStack() as stack:
            stack.enter_context(self._locks())
            self._filing.empty_trash()
            observer = None if once else self._start_observer()
            if observer is not None:
                stack.callback(observer.join, timeout=10)
                stack.callback(observer.stop)
            store = stack.enter_context(Store.open(self.settings.db, payloads=self.settings.payloads))
            self._loop(store, report)
        return report

    def _locks(self) -> ExitStack:
        inbox, db = self.settings.inbox, self.settings.db
        stack = ExitStack()
        with stack:
            held = _("the inbox {where} is already watched by another docflow watch ({holder}); stop that one first")
            stack.enter_context(FolderLock(inbox / INBOX_LOCK_NAME, held.replace("{where}", str(inbox))))
            if not is_server_url(str(db)):
                # One watcher per SQLite file: its writers take turns anyway. On PostgreSQL several write at once.
                db = Path(db)
                db.parent.mkdir(parents=True, exist_ok=True)
                held = _(
                    "the store {where} is already written by another docflow watch ({holder}); stop that one first"
                )
                stack.enter_context(FolderLock(store_lock_path(db), held.replace("{where}", str(db))))
            return stack.pop_all()

    def _loop(self, store: Store, report: WatchReport) -> None:
        while not self._stop.is_set():
            if time.monotonic() >= self._next_rescan:
                self._scan()  # the listing is the truth; events only make the watcher quicker
                self._trust.notice(time.monotonic(), settle=not self._once, force=True)
                self._next_rescan = time.monotonic() + self.settings.rescan_seconds
            if self._once and not self._pending and not self._trust.busy:
                break
            self._wait_for_candidates(block=not self._trust.busy)
            self._process_settled(store, report)
            # Between batches: one bounded part of a re-verification, so a batch waits one part at most.
            self._trust.notice(time.monotonic(), settle=not self._once)
            self._trust.work(store, time.monotonic(), once=self._once)

    # -- how files arrive ------------------------------------------------------------

    def _start_observer(self) -> BaseObserver:
        handler = _InboxHandler(self._candidates, self.settings.inbox)
        choice = ObserverChoice.POLLING if self.settings.polling else self.settings.observer
        if uses_polling(choice, self.settings.inbox):
            log.info(_("polling %s every %.1f s"), self.settings.inbox, self.settings.poll_interval)
            observer: BaseObserver = PollingObserver(timeout=self.settings.poll_interval)
        else:
            observer = Observer()
        # Not recursive: a folder batch is announced by its top-level entry; the settle
        # check then watches its contents itself.
        observer.schedule(handler, str(self.settings.inbox), recursive=False)
        observer.start()
        return observer

    def _scan(self) -> None:
        try:
            names = sorted(entry.name for entry in self.settings.inbox.iterdir())
        except OSError as error:
            log.error(_("cannot list the inbox %s: %s"), self.settings.inbox, error.strerror or error)
            return
        for name in names:
            self._consider(name, at_once=False)

    def _consider(self, name: str, at_once: bool) -> None:
        if is_done_marker(name):
            self._marked(name)
            return
        if name and name not in self._pending and self._is_candidate(self.settings.inbox / name):
            self._pending[name] = Pending()
            if os.path.lexists(self.settings.inbox / f"{name}{DONE_SUFFIX}"):
                self._marked(f"{name}{DONE_SUFFIX}")  # the marker came before its batch
        if at_once and name in self._pending:
            self._pending[name].at_once = True

    def _marked(self, marker: str) -> None:
        """``NAME.done`` beside ``NAME``: take ``NAME`` at once, and remove the marker with it."""
        name = marked_batch(marker)
        self._consider(name, at_once=False)
        if name in self._pending and os.path.lexists(self.settings.inbox / marker):
            self._pending[name].at_once = True
            self._pending[name].marker = self.settings.inbox / marker

    def _wait_for_candidates(self, block: bool = True) -> None:
        tick = max(0.05, min(self.settings.settle_seconds / 3, self.settings.poll_interval)) if block else 0.0
        try:
            names = [self._candidates.get(timeout=tick)] if block else [self._candidates.get_nowait()]
        except queue.Empty:
            return
        while True:
            try:
                names.append(self._candidates.get_nowait())
            except queue.Empty:
                break
        for name, at_once in names:
            self._consider(name, at_once)

    def _is_candidate(self, path: Path) -> bool:
        # lexists: a link, a pipe or a device is a candidate too, to be refused with a reason.
        if is_temporary(path.name) or is_done_marker(path.name) or not os.path.lexists(path):
            return False
        return Path(os.path.realpath(path)) not in self._own_dirs

    # -- what a batch is -------------------------------------------------------------

    def _process_settled(self, store: Store, report: WatchReport) -> None:
        now = time.monotonic()
        timing = Timing(self.settings.settle_seconds, self.settings.grace_seconds, self._once)
        for name in sorted(self._pending):
            if self._stop.is_set():
                return
            path = self.settings.inbox / name
            pending = self._pending[name]
            ready = readiness(path, pending, now, timing)
            if ready is Readiness.GONE:
                del self._pending[name]  # gone (moved away by a clerk)
                continue
            if ready is Readiness.WAIT or now < pending.attempts.next_try:
                continue
            outcome = self._take(store, path, pending)
            if outcome is not None:
                report.outcomes.append(outcome)
                del self._pending[name]

    def _take(self, store: Store, path: Path, pending: Pending) -> BatchOutcome | None:
        """Ingest and file one batch; None when it stays in the inbox for a retry."""
        store.check_unchanged()  # StoreReplaced ends the run: nothing may be filed against a lost store
        outcome = pending.committed
        refused = refusal(path) if outcome is None else None
        if refused is not None:
            outcome = BatchOutcome(path.name, "", BatchOutcomeKind.REJECTED, reason=refused)
        elif outcome is None:
            try:
                with self._progress_for(path.name) as progress:
                    outcome = ingest_batch(
                        path,
                        store,
                        self._trust.trust,
                        self._options,
                        attempts=1,
                        progress=self._stoppable(progress),
                        received_at=pending.first_seen,
                    )
            except _Stopped:
                log.info(_("%s: stopped before it was committed; it stays in the inbox"), readable_name(path.name))
                return None
            except BatchChanged as changed:
                log.info(
                    _("%s: %s; nothing was stored, it is read again once it settles"),
                    readable_name(path.name),
                    changed.reason,
                )
                pending.signature, pending.at_once = None, False
                return None
            except StoreReplaced:
                raise
            except Exception as error:  # noqa: BLE001 - a bug must not lose the batch
                return self._failed(path, pending, error)
            if not outcome.sha256:
                return self._failed(path, pending, OSError(outcome.reason))
        to_rejected = belongs_in_rejected(store, outcome)
        what_to_do = WHAT_TO_DO_UNREADABLE if outcome.sha256 else WHAT_TO_DO_REFUSED
        receipt = receipt_for(store, outcome, pending.first_seen, what_to_do, rejected=to_rejected)
        try:
            filed_as = self._filing.file_away(path, outcome, receipt, to_rejected, pending.marker)
        except OSError as error:
            # Committed already: retrying only the move, never the ingest, keeps it counted once.
            pending.committed = outcome
            state = _("it is stored but cannot be filed away ({error})").format(error=error)
            self._wait_for_the_machine(path, pending, error, state)
            return None
        _log_filed(receipt, outcome, _shown(filed_as, self.settings.inbox))
        self._events.batch_filed(receipt, filed_as)
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

    def _failed(self, path: Path, pending: Pending, error: BaseException) -> BatchOutcome | None:
        if is_the_machines_fault(error):
            self._wait_for_the_machine(path, pending, error, _("nothing was stored"))
            return None
        name = readable_name(path.name)
        delay = self._retry.after_failure(pending.attempts)
        if delay is not None:
            log.error(_("%s: failed (%s); retrying in %.0f s"), name, summary(error), delay, exc_info=error)
            return None
        reason = f"docflow failed {pending.attempts.failures} times on this batch: {summary(error)}"
        outcome = BatchOutcome(name, "", BatchOutcomeKind.REJECTED, reason=reason)
        receipt = receipt_for(None, outcome, pending.first_seen, WHAT_TO_DO_FAILED, rejected=True)
        try:
            filed_as = self._filing.quarantine(path, outcome, receipt, traceback.format_exception(error)[-6:])
        except OSError as move_error:
            # Give up on it for this run (a restart retries); looping on it would stall the inbox.
            log.error(_("%s: cannot quarantine it (%s); it stays in the inbox"), name, move_error)
            return dataclasses.replace(outcome, reason=f"{reason}; left in the inbox: {move_error}")
        log.error(_("%s: quarantined in %s: %s"), name, self.settings.rejected_dir, reason)
        self._events.batch_filed(receipt, filed_as)
        return outcome

    def _wait_for_the_machine(self, path: Path, pending: Pending, error: BaseException, state: str) -> None:
        delay = self._retry.after_machine_failure(pending.attempts)
        name = readable_name(path.name)
        if self._once:
            # --once is a run that must end: say why and stop, rather than retry for ever.
            aborted = _("{name}: {state}: {error}; it stays in the inbox. Fix the cause and run again")
            raise WatchAborted(aborted.format(name=name, state=state, error=summary(error)))
        if isinstance(error, StoreBusy):
            log.warning(
                _("%s: the store is busy (another docflow is writing); it stays in the inbox, retrying in %.0f s"),
                name,
                delay,
            )
            return
        log.error(
            _("%s: the machine is failing (%s); %s; it stays in the inbox, retrying in %.0f s"),
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


def _shown(filed_as: Path, inbox: Path) -> str:
    try:
        return filed_as.relative_to(inbox).as_posix()
    except ValueError:
        return str(filed_as)


def _log_filed(receipt: Receipt, outcome: BatchOutcome, filed_as: str) -> None:
    """What the store holds of the batch, not what was read: a document read twice or updated is not "new"."""
    name = readable_name(outcome.file)
    if receipt.outcome == "ingested" or receipt.outcome == "rejected" and outcome.sha256 and not outcome.reason:
        counts = receipt.counts
        refused, failed = len(receipt.rejected_items), len(receipt.signatures_not_passed)
        log.info(
            _("%s: %s: %s, %s, %s; filed as %s"),
            name,
            _("nothing accepted") if receipt.outcome == "rejected" else _("ingested"),
            counts.text(),
            ngettext("{count} item refused", "{count} items refused", refused).format(count=refused),
            ngettext("{count} signature not passed", "{count} signatures not passed", failed).format(count=failed),
            filed_as,
        )
    else:
        log.info(_("%s: %s: %s; filed as %s"), name, outcome_word(outcome.outcome), outcome.reason, filed_as)
