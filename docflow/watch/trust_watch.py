"""The watcher's trust directory: a change noticed, the new trust store adopted, the store judged again under it.

Noticing is cheap: the directory's stamp (each file's relative path, size and times, nothing read) is taken at
most every ``check_seconds`` and at each rescan. A changed stamp must stay the same for ``settle_seconds`` (a CRL
being copied in is not read half-written), then the trust store is loaded again; its content ``fingerprint``
(``signatures.trust``, the state verdicts are recorded under) says whether anything that judges a signature
changed: a file merely touched changes nothing.

A new state is adopted unless the directory cannot be listed, holds no trust anchor, or has a file that cannot
be read which the store in use did not have (most often a file still being copied, or damaged): then the reason
is logged once and the watcher keeps judging against the trust store it had, until the directory changes again.
An adopted state judges the batches ingested from then on, and the stored signatures are judged again by the
same re-verification as ``docflow reverify`` (its default selection: those whose verdict could change). That
work is done a bounded part at a time, between batches: at most ``part_signatures`` signatures (whole
documents, one transaction) per pass of the watcher's loop, so a batch waiting is taken after one part at most.
When the last part is written, one log line (and a ``reverified`` event) says how many verdicts changed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from docflow.i18n import N_, _
from docflow.ingest.reverify import ReverifyPlan, ReverifyResult, plan_reverify, reverify_part
from docflow.store.core import Store, StoreReplaced
from docflow.watch.events import EventLog
from docflow.watch.retry import summary
from signatures import SignerKind, TrustStore

__all__ = ["TrustWatch", "Unlistable", "directory_stamp", "refusal", "REVERIFIED"]

log = logging.getLogger("docflow.watch.watcher")

Stamp = tuple[tuple[str, int, int, int], ...]
"""(relative path, size, modification time, change time) of every file, sorted: what a copy, a rename over, a
removal or a rewrite changes."""

REVERIFIED = N_(
    "re-verified %d signatures after the trust store changed: %d verdicts changed, %d unchanged, "
    "%d could not be verified again"
)
"""The log line of a finished re-verification (checked, changed, unchanged, unavailable)."""

_NOT_ADOPTED = N_(
    "the trust directory %s changed but is not used (%s): the watcher keeps judging against the trust store it "
    "had; fix the directory, it is read again when it changes"
)
_GIVEN_UP = N_("re-verification stopped (%s): what was written stays; run `docflow reverify` to judge the rest")
_PART_FAILED = N_("re-verification stopped (%s): what was written stays; the rest is tried again in %.0f s")


@dataclass(frozen=True)
class Unlistable:
    """The trust directory cannot be listed; ``reason`` says why."""

    reason: str


def directory_stamp(directory: Path) -> Stamp | Unlistable:
    """The stamp of every file under ``directory`` (links followed, as ``TrustStore.load`` reads them)."""
    entries: list[tuple[str, int, int, int]] = []
    if not directory.is_dir():
        return Unlistable(_("there is no folder at %s") % directory)

    def fail(error: OSError) -> None:
        raise error

    try:
        for folder, _folders, files in os.walk(directory, onerror=fail, followlinks=True):
            for name in files:
                path = Path(folder, name)
                stat = path.stat()
                entries.append(
                    (path.relative_to(directory).as_posix(), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
                )
    except OSError as error:
        return Unlistable(_("cannot read %s (%s)") % (error.filename or directory, error.strerror or error))
    return tuple(sorted(entries))


def refusal(new: TrustStore, current: TrustStore) -> str | None:
    """Why ``new`` must not replace ``current``; None when it may."""
    if not new.anchors:
        return _("it holds no trust anchor (a self-signed root certificate)")
    known = set(current.problems)
    added = [problem for problem in new.problems if problem not in known]
    if added:
        return "; ".join(added)
    return None


class TrustWatch:
    """One watcher's trust store, kept current with its directory; ``trust`` is what batches are judged against."""

    def __init__(
        self,
        directory: Path | None,
        trust: TrustStore | None,
        events: EventLog,
        *,
        settle_seconds: float,
        check_seconds: float,
        part_signatures: int,
        retry_seconds: float,
        kinds: Mapping[str, SignerKind],
        workers: int,
    ) -> None:
        self._directory = directory if trust is not None else None  # --no-trust stays so: nothing to watch
        self.trust = trust
        self._events = events
        self._settle_seconds = settle_seconds
        self._check_seconds = check_seconds
        self._part_signatures = part_signatures
        self._retry_seconds = retry_seconds
        self._kinds = kinds
        self._workers = workers
        # The store in use was loaded from the directory as it is now (just before the watcher was made).
        self._seen: Stamp | Unlistable | None = (
            directory_stamp(self._directory) if self._directory is not None else None
        )
        self._seen_since = 0.0
        self._judged = self._seen
        """The stamp last loaded or refused: it is not read again until it changes."""
        self._next_check = 0.0
        self._plan: ReverifyPlan | None = None
        self._totals = _Totals()
        self._next_try = 0.0

    @property
    def busy(self) -> bool:
        """Stored signatures remain to be judged under the trust store in use."""
        return self._totals.pending

    def notice(self, now: float, *, settle: bool = True, force: bool = False) -> None:
        """Look at the directory (at most every ``check_seconds`` unless ``force``); adopt a settled change."""
        if self._directory is None or (not force and now < self._next_check):
            return
        self._next_check = now + self._check_seconds
        stamp = directory_stamp(self._directory)
        if stamp != self._seen:
            self._seen, self._seen_since = stamp, now
        if stamp == self._judged or (settle and now - self._seen_since < self._settle_seconds):
            return
        self._judged = stamp
        if isinstance(stamp, Unlistable):
            log.warning(_(_NOT_ADOPTED), self._directory, stamp.reason)
            return
        self._reload(self._directory)

    def _reload(self, directory: Path) -> None:
        if self.trust is None:  # never so: no directory is watched without a trust store
            return
        try:
            new = TrustStore.load(directory)
        except Exception as error:  # noqa: BLE001 - a trust file that breaks the loader must not stop the inbox
            log.error(_(_NOT_ADOPTED), directory, summary(error), exc_info=error)
            return
        refused = refusal(new, self.trust)
        if refused is not None:
            log.warning(_(_NOT_ADOPTED), directory, refused)
            return
        if new.fingerprint == self.trust.fingerprint:
            log.debug("the trust directory %s was touched; its content is the same", directory)
            return
        if self._totals.pending:
            log.info(_("the trust store changed again: re-verification starts over against the new one"))
        log.info(_("the trust directory %s changed: stored signatures are judged again, between batches"), directory)
        self.trust = new
        self._plan, self._totals = None, _Totals(pending=True)

    def work(self, store: Store, now: float, *, once: bool = False) -> None:
        """Judge the next part of the stored signatures again, if any remain (one transaction).

        A part that fails is tried again later; with ``once`` (a run that must end) the rest is given up, and the
        log says to finish it with ``docflow reverify``."""
        if not self._totals.pending or now < self._next_try or self.trust is None:
            return
        try:
            if self._plan is None:
                self._plan = plan_reverify(store, self.trust)
            if self._plan.has_units(store):
                # One transaction per part: a part that fails is given back whole, and the totals stay exact.
                part = reverify_part(
                    store,
                    self.trust,
                    self._plan,
                    self._part_signatures,
                    kinds=self._kinds,
                    workers=self._workers,
                    payloads_per_commit=max(self._part_signatures, 1),
                )
                self._totals.add(part)
        except StoreReplaced:
            raise
        except Exception as error:  # noqa: BLE001 - the inbox goes on; the plan keeps what was not written
            if once:
                log.error(_(_GIVEN_UP), summary(error), exc_info=error)
                self._plan, self._totals = None, _Totals()
                return
            delay = self._retry_seconds
            self._next_try = now + delay
            log.error(_(_PART_FAILED), summary(error), delay, exc_info=error)
            return
        if not self._plan.has_units(store):
            self._finish(self.trust)

    def _finish(self, trust: TrustStore) -> None:
        totals = self._totals.result()
        log.info(_(REVERIFIED), totals.checked, totals.changed, totals.unchanged, totals.unavailable)
        if totals.unavailable:
            log.warning(_("`docflow reverify --json` lists the signatures that could not be verified again and why"))
        self._events.reverified(totals, trust.fingerprint)
        self._plan, self._totals = None, _Totals()


@dataclass
class _Totals:
    """One re-verification's counts over its parts."""

    pending: bool = False
    changed: int = 0
    unchanged: int = 0
    unavailable: int = 0

    def add(self, part: ReverifyResult) -> None:
        self.changed += part.changed
        self.unchanged += part.unchanged
        self.unavailable += part.unavailable

    def result(self) -> ReverifyResult:
        checked = self.changed + self.unchanged + self.unavailable
        return ReverifyResult(checked, self.changed, self.unchanged, self.unavailable)
