"""Which stored signatures a re-verification takes, read from the store a window at a time.

A plan used to hold every stored signature in scope from the start: about 2.3 KB each, some 4.6 GB for a
province-year. It now holds one window of rows (``WINDOW_ROWS``) and reads the next when the writer has taken
the last, so its memory does not grow with the archive.

Order: the signed files of no document first, by SHA-256, then documents, by id; a commit unit (a signed file of
no document, or a whole document) is never split between windows. Rows added after the plan was made (a batch
ingested between the watcher's parts) are left out: they were judged under the current trust store when
stored. A signed file given to its document meanwhile is still judged once: the files of no document are read
first, and if one is given to a document later, that document comes in the second half.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import groupby

from docflow.store.core import Store
from docflow.store.payloads import Unavailable
from docflow.store.signature_rows import SignatureWindow, StoredSignature
from docflow.store.trust_states import TouchedChains, touched_issuers
from signatures import TrustStore, Verdict

__all__ = ["ReverifyPlan", "ReverifyScope", "Job", "WINDOW_ROWS", "plan_reverify"]

WINDOW_ROWS = 5000
"""Stored signatures read from the store at a time (a unit larger than this is read whole)."""

_INDETERMINATE = "INDETERMINATE"


@dataclass(frozen=True)
class ReverifyScope:
    """Which stored signatures re-verification looks at."""

    months: tuple[str, ...] | None = None
    """``documents.period`` values (``yyyy-mm``); None: any."""
    unit: str | None = None
    """``documents.sender``; None: any. With neither, signatures of no document are in scope too."""
    everything: bool = False
    """Take every signature in scope, not only those whose verdict could change (``--all``)."""


@dataclass
class Job:
    """One signed file to judge again: its taken rows, and how many signatures the store holds for it."""

    payload_sha256: str
    rows: list[StoredSignature]
    stored: int
    verdicts: list[Verdict] | Unavailable | None = None


@dataclass
class _Reader:
    """Reads the plan's rows a window at a time and keeps those a judgement under ``trust`` could change."""

    trust: TrustStore
    everything: bool
    window: SignatureWindow
    done: bool = False
    touched: dict[str, TouchedChains | None] = field(default_factory=dict)

    def next_units(self, store: Store) -> list[list[Job]]:
        """The commit units of the next window that holds any taken rows; [] once every window is read."""
        while not self.done:
            units = _units(self._taken(self._next_rows(store), store))
            if units:
                return units
        return []

    def _next_rows(self, store: Store) -> list[tuple[StoredSignature, int]]:
        rows = store.stored_signature_window(self.window)
        key = _key_of(self.window.loose)
        if len(rows) < self.window.limit:  # this half is read: documents next, or the end
            if self.window.loose:
                self.window = replace(self.window, loose=False, after=None)
            else:
                self.done = True
            return rows
        last = key(rows[-1][0])
        whole = [row for row in rows if key(row[0]) != last]
        if not whole:  # one unit is larger than a window: it is read alone, whole
            whole = store.stored_signature_window(replace(self.window, only=last))
        else:
            last = key(whole[-1][0])
        self.window = replace(self.window, after=last)
        return whole

    def _taken(self, rows: list[tuple[StoredSignature, int]], store: Store) -> list[tuple[StoredSignature, int]]:
        if self.everything:
            return rows
        current = None

        def could_change(row: StoredSignature) -> bool:
            """Never judged against a trust anchor, or under no recorded state; INDETERMINATE; or judged under
            another state whose difference from this one touches its chain. Judged under this very state: done."""
            nonlocal current
            old = row.trust_fingerprint
            if old == self.trust.fingerprint:
                return False
            if old is None or not row.trust_checked or row.indication == _INDETERMINATE:
                return True
            if old not in self.touched:
                current = current if current is not None else self.trust.inventory()
                before = store.trust_inventory(old)
                self.touched[old] = touched_issuers(before, current) if before is not None else None
            chains = self.touched[old]
            return chains is None or chains(row.signer_issuer)  # an unknown old state: anything may have changed

        return [(row, stored) for row, stored in rows if could_change(row)]


@dataclass
class ReverifyPlan:
    """The signatures one re-verification takes, by commit unit, for ``reverify_part`` to judge a part at a time.

    The watcher judges a bounded part between batches; the rows are read again when written (``Store.rejudge``),
    so what a batch ingested in between changed is what is compared and counted.
    """

    trust_fingerprint: str
    units: deque[list[Job]]
    """Units read and not yet judged (or given back after a failed part)."""
    signatures: int
    """Signatures still to judge."""
    reader: _Reader | None = None

    def has_units(self, store: Store) -> bool:
        """Whether any unit remains, reading the next window from ``store`` when those read are taken."""
        while not self.units and self.reader is not None and not self.reader.done:
            self.units.extend(self.reader.next_units(store))
        return bool(self.units)


def plan_reverify(
    store: Store, trust: TrustStore, scope: ReverifyScope = ReverifyScope(), *, window_rows: int = WINDOW_ROWS
) -> ReverifyPlan:
    """Which stored signatures in ``scope`` a re-verification against ``trust`` takes (all of them with
    ``scope.everything``), grouped by commit unit and read a window at a time.

    The signatures are counted now (for the progress bar and the totals): with ``everything`` by one statement,
    else by a first pass over the windows that keeps nothing.
    """
    loose = scope.months is None and scope.unit is None
    window = SignatureWindow(store.last_signature_id(), loose, scope.months, scope.unit, limit=max(window_rows, 1))
    counter = _Reader(trust, scope.everything, window)
    if scope.everything:
        count = store.stored_signature_count(window)
    else:
        count = 0
        while units := counter.next_units(store):
            count += sum(len(job.rows) for unit in units for job in unit)
    reader = _Reader(trust, scope.everything, window, touched=counter.touched)
    return ReverifyPlan(trust.fingerprint, deque(), count, reader)


def _units(rows: list[tuple[StoredSignature, int]]) -> list[list[Job]]:
    jobs: list[Job] = []
    for sha, group in groupby(rows, key=lambda pair: pair[0].payload_sha256):
        of_file = list(group)
        jobs.append(Job(sha, [row for row, _ in of_file], of_file[0][1]))
    return [list(unit) for _, unit in groupby(jobs, key=group_of)]


def group_of(job: Job) -> str:
    """The commit unit: a document (all its signed files together), or one signed file no document names."""
    document_id = job.rows[0].document_id
    return document_id if document_id is not None else "\0" + job.payload_sha256


def _key_of(loose: bool) -> Callable[[StoredSignature], str]:
    return _payload_key if loose else _document_key


def _payload_key(row: StoredSignature) -> str:
    return row.payload_sha256


def _document_key(row: StoredSignature) -> str:
    return row.document_id or ""
