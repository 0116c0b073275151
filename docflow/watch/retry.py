"""When a batch that failed is tried again: the machine's faults are waited out, docflow's own are counted.

A full, read-only or failing disk, or a store another docflow is writing, says nothing about the batch: it
waits in the inbox however long that lasts, retried ever less often. Any other failure may be docflow's own
bug on this batch: after ``max_attempts`` of those it is quarantined, so that one batch cannot stall the inbox.
"""

from __future__ import annotations

import errno
import sqlite3
import time
import traceback
from dataclasses import dataclass

from docflow.store.core import StoreBusy

__all__ = ["Attempts", "RetryPolicy", "is_the_machines_fault", "summary"]

_MACHINE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.ENOMEM}
_MACHINE_SQLITE_MESSAGES = ("database or disk is full", "disk i/o error", "database is locked", "unable to open")


@dataclass
class Attempts:
    """How one batch has failed so far in this run."""

    failures: int = 0
    """Failures that may be docflow's own; only these lead to quarantine."""
    environment_failures: int = 0
    """Failures of the machine (full disk, I/O error): the batch waits in the inbox however long they last."""
    next_try: float = 0.0
    """``time.monotonic()`` before which the batch is not tried again."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    """Failures (docflow bugs, not bad batches) before a batch is quarantined."""
    retry_seconds: float
    """First retry delay after a failure; doubles each time."""
    max_retry_seconds: float
    """Longest wait between retries while the machine itself is at fault."""

    def after_failure(self, attempts: Attempts) -> float | None:
        """Count a failure that may be docflow's own: the delay before the next try, None to quarantine."""
        attempts.failures += 1
        if attempts.failures >= self.max_attempts:
            return None
        delay = self.retry_seconds * 2.0 ** (attempts.failures - 1)
        attempts.next_try = time.monotonic() + delay
        return delay

    def after_machine_failure(self, attempts: Attempts) -> float:
        """Count a failure of the machine: the delay before the next try (never a quarantine)."""
        attempts.environment_failures += 1
        delay = min(self.retry_seconds * 2.0 ** (attempts.environment_failures - 1), self.max_retry_seconds)
        attempts.next_try = time.monotonic() + delay
        return delay


def is_the_machines_fault(error: BaseException) -> bool:
    """A full, read-only or failing disk, or a busy store: no reason to suspect the batch or docflow."""
    if isinstance(error, OSError) and error.errno in _MACHINE_ERRNOS or isinstance(error, StoreBusy):
        return True
    return isinstance(error, sqlite3.OperationalError) and str(error).lower().startswith(_MACHINE_SQLITE_MESSAGES)


def summary(error: BaseException) -> str:
    """The exception's one-line form, for a log line or a reason."""
    return "".join(traceback.format_exception_only(error)).strip()
