"""What ``docflow verify`` verifies, and verifying it on every core with results streamed in input order.

Arguments become jobs lazily (a folder is walked as it is reached), and at most a bounded window of
files is in flight at once, so a run over an archive of any size holds only that window in memory.
A ``.p7s`` named after a file among the same arguments (or in the same folder) is that file's
signature: the file is its signed content, not an unsigned document.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Generic, TypeVar

from signatures import TrustStore, Verdict, verify_file

__all__ = ["Checked", "Job", "checked", "in_chunks", "jobs_of", "verify_job"]

R = TypeVar("R")

log = logging.getLogger(__name__)

_SIGNATURE_SUFFIX = ".p7s"
_CHUNK_FILES = 16
"""Files per task: fewer round trips to the workers, and still a result soon after the first files."""
_CHUNKS_PER_WORKER = 4
"""Chunks in flight per worker: enough that no worker waits, few enough that memory stays bounded."""


@dataclass(frozen=True)
class Job:
    """One file to verify."""

    path: Path
    content: Path | None = None
    """The signed document of a detached signature, when given or found beside it."""
    signed_content: bool = False
    """The file is the document of a ``.p7s`` among the arguments: only its own embedded signatures count."""

    @property
    def content_only(self) -> bool:
        """The document of a detached signature, with no place for signatures of its own: judged through it."""
        return self.signed_content and not _pdf_name(self.path.name)


def _pdf_name(name: str) -> bool:
    """``Path(name).suffix.lower() == ".pdf"``, without building a Path (a name that is only ".pdf" has none)."""
    return len(name) > 4 and name[-4:].lower() == ".pdf"


@dataclass(frozen=True)
class Checked(Generic[R]):
    """One file and what the work made of it (its verdicts, or their printed form, made in a worker)."""

    job: Job
    result: R


def jobs_of(arguments: Sequence[Path], content: Path | None = None, *, documents: bool = True) -> Iterator[Job]:
    """The files named and the files under the folders named, in the order given (a folder's sorted).

    ``documents=False`` leaves out the jobs that would be ``content_only`` (judged through their signature).
    """
    if content is not None:
        yield from (Job(path, content) for path in arguments)
        return
    named = {str(path) for path in arguments}
    for path in arguments:
        if path.is_dir():
            yield from _walk(path, documents)
        else:
            job = _job(path, str(path), named)
            if documents or not job.content_only:
                yield job


def _walk(folder: Path, documents: bool) -> Iterator[Job]:
    for root, folders, names in os.walk(folder):
        folders.sort()
        present = set(names)
        here = Path(root)  # each file's path built from it with ``/``: a third of the cost of Path(root, name)
        for name in sorted(names):
            if not documents and name + _SIGNATURE_SUFFIX in present and not _pdf_name(name):
                continue  # a content_only job, known from the name: no Path or Job built for it
            yield _job(here / name, name, present, here)


def _job(path: Path, name: str, present: set[str], folder: Path | None = None) -> Job:
    """``name`` is the path's last part, or the whole path as given, as ``present`` holds them; ``folder``, when
    given, is the path's parent: a partner's path is then ``folder / partner``, half the cost of ``with_name``."""
    if name[-len(_SIGNATURE_SUFFIX) :].lower() == _SIGNATURE_SUFFIX:
        partner = name[: -len(_SIGNATURE_SUFFIX)]
        if partner not in present:
            return Job(path)
        return Job(
            path, folder / partner if folder is not None else path.with_name(path.name[: -len(_SIGNATURE_SUFFIX)])
        )
    return Job(path, signed_content=name + _SIGNATURE_SUFFIX in present)


def verify_job(job: Job, trust: TrustStore) -> list[Verdict]:
    if job.content_only:
        return []
    return verify_file(job.path, job.content, trust=trust)


# -- on every core ----------------------------------------------------------------------------------
# A plain pipe per forked worker: each worker's results come back in the order its chunks were sent, so
# reading the oldest chunk's worker each time gives the input order, whichever worker each chunk went to. Measured
# against ProcessPoolExecutor on this machine: 6-9 µs of the printing process's time per file instead of
# 13-23 (no feeder and manager threads, no futures), which is what limits the speed-up on two cores.


def checked(jobs: Iterable[Job], work: Callable[[Job], R], workers: int) -> Iterator[Checked[R]]:
    """What ``work`` makes of each job, in the jobs' order, each as soon as it and every job before it is done."""
    for chunk, results in in_chunks(jobs, partial(_each, work), workers):
        yield from (Checked(job, result) for job, result in zip(chunk, results))


def _each(work: Callable[[Job], R], jobs: list[Job]) -> list[R]:
    return [work(job) for job in jobs]


def in_chunks(jobs: Iterable[Job], work: Callable[[list[Job]], R], workers: int) -> Iterator[tuple[list[Job], R]]:
    """What ``work`` makes of each run of consecutive jobs, in the jobs' order, each as soon as it and every
    run before it is done: one job at a time on one worker, chunks of ``_CHUNK_FILES`` on several.

    One result per chunk lets a worker hand back a whole chunk's output at once (one object to send, one
    write for the printing process) instead of one per file.
    """
    jobs = iter(jobs)
    first = _take(jobs, _CHUNK_FILES)
    if workers <= 1 or len(first) < _CHUNK_FILES or "fork" not in multiprocessing.get_all_start_methods():
        yield from (([job], work([job])) for job in first)
        yield from (([job], work([job])) for job in jobs)
        return
    pool = _Pool(work, workers)
    try:
        yield from _pooled(pool, first, jobs, work, workers * _CHUNKS_PER_WORKER)
    finally:
        pool.close()


@dataclass(frozen=True)
class _Failed:
    """What a worker sends back instead of a result when its work raised: the chunk is redone here."""

    error: str


class _Pool:
    """Forked workers, each fed chunks through its own pipe; the work (and the trust store it closes over)
    is inherited through fork, never pickled."""

    def __init__(self, work: Callable[[list[Job]], Any], workers: int) -> None:
        context = multiprocessing.get_context("fork")
        self.workers: list[tuple[Connection, BaseProcess]] = []
        for _ in range(workers):
            ours, theirs = context.Pipe()
            others = [connection for connection, _ in self.workers]  # inherited by the fork: closed there
            process = context.Process(target=_serve, args=(theirs, work, others), daemon=True)
            process.start()
            theirs.close()
            self.workers.append((ours, process))
        self.alive = [True] * workers
        self.pending = [0] * workers
        """Chunks sent to each worker whose result has not been read yet."""

    def send(self, chunk: list[Job]) -> int | None:
        """The worker the chunk went to, or None when none is left (the chunk is then done here).

        It goes to the worker with the fewest chunks pending: one slowed down by other work on a shared
        machine is given less, rather than holding up the output while the other waits idle.
        """
        while any(self.alive):
            number = min((pending, number) for number, pending in enumerate(self.pending) if self.alive[number])[1]
            try:
                self.workers[number][0].send(chunk)
            except OSError:
                self.alive[number] = False
                continue
            self.pending[number] += 1
            return number
        return None

    def receive(self, number: int) -> object:
        """The next result of worker ``number``; raises EOFError/OSError when it died."""
        try:
            result = self.workers[number][0].recv()
        except (EOFError, OSError):
            self.alive[number] = False
            raise
        self.pending[number] -= 1
        return result

    def close(self) -> None:
        for connection, _ in self.workers:
            with contextlib.suppress(OSError, ValueError):
                connection.send(None)  # no more chunks: the worker stops once it has read this
            connection.close()
        for _, process in self.workers:
            process.join(timeout=5)
            if process.is_alive():  # still in a file when the run was cut short
                process.terminate()
                process.join()


def _serve(connection: Connection, work: Callable[[list[Job]], Any], others: list[Connection]) -> None:
    # Ctrl-C is the printing process's to handle: it stops the workers once their current chunk is done.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for other in others:
        other.close()  # another worker's pipe end: held here, it would keep that pipe open after the run
    while True:
        try:
            chunk = connection.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        try:
            result = work(chunk)
        except Exception as error:  # noqa: BLE001 - the printing process redoes the chunk and says why
            result = _Failed(repr(error))
        try:
            connection.send(result)
        except (OSError, ValueError):
            return  # the printing process is gone
        except Exception as error:  # noqa: BLE001 - a result that would not pickle: redone there
            connection.send(_Failed(repr(error)))


def _pooled(
    pool: _Pool, first: list[Job], jobs: Iterator[Job], work: Callable[[list[Job]], R], window: int
) -> Iterator[tuple[list[Job], R]]:
    in_flight: deque[tuple[list[Job], int | None]] = deque()
    chunk = first
    while chunk or in_flight:
        while chunk and len(in_flight) < window:
            in_flight.append((chunk, pool.send(chunk)))
            chunk = _take(jobs, _CHUNK_FILES)
        done, number = in_flight.popleft()
        yield done, _result(pool, done, number, work)


def _result(pool: _Pool, chunk: list[Job], number: int | None, work: Callable[[list[Job]], R]) -> R:
    if number is not None and pool.alive[number]:
        try:
            result = pool.receive(number)
        except (EOFError, OSError):
            # A worker died (killed, out of memory): its files are verified here, none is lost.
            log.warning("a verification worker stopped; verifying %s and the rest here", chunk[0].path.name)
        except Exception as error:  # noqa: BLE001 - e.g. a result that would not unpickle: retry here
            log.warning("verifying %s in a worker failed (%r); verifying it here", chunk[0].path.name, error)
        else:
            if not isinstance(result, _Failed):
                return result  # type: ignore[return-value]
            log.warning("verifying %s in a worker failed (%s); verifying it here", chunk[0].path.name, result.error)
    return work(chunk)


def _take(jobs: Iterator[Job], count: int) -> list[Job]:
    taken: list[Job] = []
    with contextlib.suppress(StopIteration):
        while len(taken) < count:
            taken.append(next(jobs))
    return taken
